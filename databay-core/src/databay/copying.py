"""Copies of records for outlets: isolated from each other and from the inlet, without deepcopy's cost.

``copy.deepcopy`` spends microseconds per record on its memo and reduce protocol. Payloads
are overwhelmingly built from dicts, lists, tuples and scalars, so those are copied by hand
and anything else (or anything cyclic) falls back to ``deepcopy``.
"""

from __future__ import annotations

import copy
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
    """Deep copies of ``records``; records sharing metadata keep sharing one copy of it."""
    copies = []
    append = copies.append
    shared_copies: dict[int, dict] = {}
    for record in records:
        if type(record) is not Record:
            append(copy.deepcopy(record))
            continue
        payload = record.payload
        try:
            if type(payload) not in _IMMUTABLE:
                payload = copy_payload(payload)
            metadata = record._metadata
            if record._shared:
                key = id(metadata)
                metadata = shared_copies.get(key)
                if metadata is None:
                    metadata = shared_copies[key] = copy_payload(record._metadata)
            else:
                metadata = copy_payload(metadata)
        except RecursionError:  # a cyclic payload: deepcopy's memo handles it
            append(copy.deepcopy(record))
            continue
        twin = _new(Record)
        twin.payload = payload
        twin._metadata = metadata
        twin._shared = record._shared
        append(twin)
    return copies
