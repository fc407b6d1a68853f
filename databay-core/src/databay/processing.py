"""Processors and groupers: the middleware between inlets and outlets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, Union

from databay.record import Record

__all__ = ["Processor", "Grouper", "as_callables", "describe", "apply_processor", "apply_grouper"]

Processor = Callable[[list[Record]], list[Record]]
"""Takes a transfer's records, returns the records to pass on."""
Grouper = Callable[[list[list[Record]]], list[list[Record]]]
"""Takes a transfer's batches of records, returns the batches to pass on."""

C = TypeVar("C", bound=Callable[..., Any])


def describe(fn: Any) -> str:
    """A short human name for a processor or grouper (function name, else repr)."""
    return getattr(fn, "__qualname__", None) or repr(fn)


def as_callables(value: Union[C, list[C], None], role: str, owner: object) -> list[C]:
    """Normalise ``None`` / one callable / a list of callables, rejecting anything else."""
    if value is None:
        return []
    items: list[C] = value if isinstance(value, list) else [value]
    for item in items:
        if not callable(item):
            raise TypeError(f"{role} {item!r} given to {owner!r} is not callable")
    return items


def apply_processor(processor: Processor, records: list[Record], owner: object) -> list[Record]:
    """Run one processor; a processor that does not return a list is a bug worth naming."""
    result = processor(records)
    if not isinstance(result, list):
        raise TypeError(
            f"processor {describe(processor)} of {owner!r} returned {type(result).__name__}, "
            "expected a list of records"
        )
    return result


def apply_grouper(grouper: Grouper, batches: list[list[Record]], owner: object) -> list[list[Record]]:
    """Run one grouper; it must return a list of batches (lists of records)."""
    result = grouper(batches)
    if not isinstance(result, list) or not all(isinstance(batch, list) for batch in result):
        raise TypeError(
            f"grouper {describe(grouper)} of {owner!r} returned {type(result).__name__}, "
            "expected a list of batches (lists of records)"
        )
    return result
