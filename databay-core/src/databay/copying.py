"""Copies of records for outlets: isolated from each other and from the inlet, without deepcopy's cost.

``copy.deepcopy`` spends microseconds per record on its memo and reduce protocol. Payloads
are overwhelmingly built from the exact built-in types (dicts, lists, tuples, scalars), which
``marshal`` round-trips in C, keeping shared references and cycles as deepcopy would. A batch
holding anything else (a class instance, a subclass such as numpy's float64) is copied record by
record: plain containers by hand, everything else through ``deepcopy``.
"""

from __future__ import annotations

import copy
import marshal
from typing import Any

from databay.record import Record

__all__ = ["copy_payload", "copy_records"]

_IMMUTABLE = frozenset({int, float, str, bytes, bool, complex, type(None), range, frozenset})
_new = object.__new__


def copy_payload(value: Any) -> Any:
    """Deep-copy ``value``; plain containers by hand, everything else through deepcopy."""
    cls = type(value)
    if cls in _IMMUTABLE:
        return value
    if cls is dict:
        copied = value.copy()  # shallow first: scalar values (the common case) need nothing more
        for key, item in copied.items():
            if type(item) not in _IMMUTABLE:
                copied[key] = copy_payload(item)
        return copied
    if cls is list:
        copied = value.copy()
        for index, item in enumerate(copied):
            if type(item) not in _IMMUTABLE:
                copied[index] = copy_payload(item)
        return copied
    if cls is tuple:
        return tuple([copy_payload(item) for item in value])
    return copy.deepcopy(value)


def copy_records(records: list[Record]) -> list[Record]:
    """Deep copies of ``records``; records sharing metadata share one copy of it (copy-on-read)."""
    try:
        payloads = marshal.loads(marshal.dumps([record.payload for record in records]))
    except ValueError:  # something marshal does not know (or too deep): copy record by record
        return [_copy_record(record) for record in records]
    copies = []
    append = copies.append
    source = copied = None
    for record, payload in zip(records, payloads, strict=True):
        if type(record) is not Record:
            append(copy.deepcopy(record))
            continue
        metadata = record._metadata
        if not record._shared:
            metadata = copy_payload(metadata)
        elif metadata is source:
            metadata = copied
        else:
            source, metadata = metadata, copy_payload(metadata)
            copied = metadata
        twin = _new(Record)
        twin.payload = payload
        twin._metadata = metadata
        twin._shared = record._shared
        append(twin)
    return copies


def _copy_record(record: Record) -> Record:
    if type(record) is not Record:
        return copy.deepcopy(record)
    try:
        twin = _new(Record)
        twin.payload = copy_payload(record.payload)
        twin._metadata = copy_payload(record._metadata)
        twin._shared = False
        return twin
    except RecursionError:  # cyclic: deepcopy's memo handles it
        return copy.deepcopy(record)
