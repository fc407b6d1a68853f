"""Copies of records for outlets: exactly what ``copy.deepcopy(batch)`` returns, only faster.

The semantics are databay 0.3's, which gave each outlet ``copy.deepcopy(batch)``: a batch is one
object graph, so types, values, cycles and sharing are kept within a record and across the records
of the batch (a dict two records hold is one dict in the copies; records sharing their metadata
share one copy of it, still copy-on-read). What deepcopy cannot copy (a memoryview) raises as it does.

``deepcopy`` spends microseconds per record on its memo and reduce protocol, while payloads are
mostly flat, so:

* a batch of distinct flat payloads (scalars, or exact dicts / lists holding only scalars) is
  copied with ``dict.copy`` / ``list.copy``, which for such values is what deepcopy does;
* a batch one inlet pulled that nobody sees but the outlets (:func:`copies_of_pull`) is not made
  at all when its payloads are flat: each outlet gets Records around its own copies of them;
* any other batch goes through one memo, as deepcopy does: exact dicts, lists, tuples and records
  are copied by hand the way deepcopy copies them, everything else (subclasses, numpy, bytearray,
  class instances) by ``copy.deepcopy`` itself, sharing the memo.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, repeat
from operator import is_not
from typing import Any

from databay.record import Record, records_sharing

__all__ = ["copy_payload", "copy_records", "copies_of_pull"]

# The exact types deepcopy returns as they are; their subclasses (numpy.float64, say) are not here.
_ATOMIC = frozenset({type(None), bool, int, float, complex, str, bytes})
_MISSING = object()
_new = object.__new__
Copier = Callable[[list[Any]], list[Any]]


def copy_payload(value: Any) -> Any:
    """``copy.deepcopy(value)``, plain containers copied by hand."""
    return _deep_copy(value)


def copy_records(records: list[Record]) -> list[Record]:
    """``copy.deepcopy(records)``: flat payloads copied a batch at a time, anything else through a memo."""
    if type(records) is not list or set(map(type, records)) != {Record}:
        return _deep_records(records)
    payloads = [record.payload for record in records]
    flat = _flat_copier(payloads)
    if flat is None:
        return _deep_records(records)
    copier, container_ids = flat
    if not container_ids and len(set(records)) != len(records):  # a record twice is one copy
        return _deep_records(records)
    twins: list[Record] = list(map(_new, repeat(Record, len(records))))
    metadata_copies: dict[int, dict[Any, Any]] = {}
    source: object = _MISSING
    copied: dict[Any, Any] = {}  # set at the first record, whose metadata is never _MISSING
    for twin, record, payload in zip(twins, records, copier(payloads), strict=True):
        metadata = record._metadata
        if metadata is not source:  # records made in bulk share one: only the first of them gets here
            known = metadata_copies.get(id(metadata))
            if known is None:
                if not _flat(metadata) or id(metadata) in container_ids:  # nested, or also a payload
                    return _deep_records(records)
                known = metadata_copies[id(metadata)] = metadata.copy()
            copied = known
            source = metadata
        twin.payload = payload
        twin._metadata = copied
        twin._shared = record._shared
    return twins


def _deep_records(records: list[Record]) -> list[Record]:
    copies: list[Record] = _deep_copy(records)
    return copies


def copies_of_pull(data: Any, wrap: Callable[[list[Any]], list[Record]]) -> Iterator[list[Record]] | None:
    """Each outlet's ``copy.deepcopy(wrap(data))``, made without ``wrap(data)``: the first is
    ``wrap`` of copies of ``data``, every next one new Records around new copies.

    For a batch nobody but its outlets' copies would see (one inlet, nothing between it and the
    outlets): the originals are never made, so a copy costs one Record and one payload copy per
    record instead of two Records, and the garbage collector has half as much to scan. ``wrap``
    must be an inlet's ``_to_records``: one new Record per payload, sharing one new metadata dict.
    None unless ``data`` is a non-empty list of distinct flat payloads and that metadata is flat.
    """
    if type(data) is not list or not data:
        return None
    flat = _flat_copier(data)
    if flat is None:
        return None
    copier = flat[0]
    first = wrap(copier(data))
    metadata = first[0]._metadata
    if not _flat(metadata):
        return None
    return _copies(first, data, copier, metadata.copy())  # copied now: the first outlet may change its own


def _copies(first: list[Record], payloads: list[Any], copier: Copier, metadata: dict[Any, Any]) -> Iterator[list[Record]]:
    yield first
    while True:
        yield records_sharing(copier(payloads), metadata.copy())


def _flat_copier(payloads: list[Any]) -> tuple[Copier, set[int]] | None:
    """How to deep-copy distinct flat payloads at once, with the ids of those that are containers.

    None when they need the memo: a payload container twice (its copies must be one object),
    nested or exotic contents. Scalars need no copy (deepcopy returns them as they are).
    """
    kinds = set(map(type, payloads))
    if kinds <= _ATOMIC:
        return _same, set()
    copier: Copier
    contents: tuple[Iterable[Any], ...]
    if kinds == {dict}:
        copier = _dict_copies
        contents = (chain.from_iterable(payloads), chain.from_iterable(map(dict.values, payloads)))
    elif kinds == {list}:
        copier = _list_copies
        contents = (chain.from_iterable(payloads),)
    else:
        return None
    container_ids = set(map(id, payloads))
    if len(container_ids) != len(payloads) or not all(_ATOMIC.issuperset(map(type, items)) for items in contents):
        return None
    return copier, container_ids


def _same(payloads: list[Any]) -> list[Any]:
    return payloads


def _dict_copies(payloads: list[Any]) -> list[Any]:
    return list(map(dict.copy, payloads))


def _list_copies(payloads: list[Any]) -> list[Any]:
    return list(map(list.copy, payloads))


def _flat(value: Any) -> bool:
    """Whether ``value`` is an exact dict of scalars, whose ``dict.copy`` is its deep copy."""
    return type(value) is dict and _ATOMIC.issuperset(map(type, chain(value, value.values())))


def _deep_copy(value: Any) -> Any:
    """``copy.deepcopy(value)``: a fresh memo, holding deepcopy's keep-alive list from the start."""
    memo: dict[int, Any] = {}
    keep = memo[id(memo)] = []
    return _deep(value, memo, keep)


def _deep(value: Any, memo: dict[int, Any], keep: list[Any]) -> Any:
    """``copy.deepcopy(value, memo)``, doing by hand what deepcopy does for plain containers and records.

    Scalars are returned as they are without a call, as deepcopy would return them, and the memo
    is filled in deepcopy's order, so ``copy.deepcopy`` shares it for everything else. ``keep``
    is the memo's list of originals that deepcopy keeps alive so that their ids stay unique.
    """
    cls = type(value)
    if cls in _ATOMIC:
        return value
    key = id(value)
    copied = memo.get(key, _MISSING)
    if copied is not _MISSING:
        return copied
    if cls is dict:
        copied = memo[key] = {}
        for item_key, item in value.items():
            copied[item_key if type(item_key) in _ATOMIC else _deep(item_key, memo, keep)] = (
                item if type(item) in _ATOMIC else _deep(item, memo, keep)
            )
    elif cls is list:
        copied = memo[key] = []
        append = copied.append
        for item in value:
            append(item if type(item) in _ATOMIC else _deep(item, memo, keep))
    elif cls is tuple:
        items = [item if type(item) in _ATOMIC else _deep(item, memo, keep) for item in value]
        copied = memo.get(key, _MISSING)  # a cycle back through this tuple copied it already
        if copied is _MISSING:
            if not any(map(is_not, items, value)):
                return value
            copied = memo[key] = tuple(items)
    elif cls is Record:  # deepcopy's reduce protocol: an empty record in the memo, then its slots in order
        copied = memo[key] = _new(Record)
        copied.payload = _deep(value.payload, memo, keep)
        copied._metadata = _deep(value._metadata, memo, keep)
        copied._shared = value._shared
    else:
        return copy.deepcopy(value, memo)
    keep.append(value)
    return copied
