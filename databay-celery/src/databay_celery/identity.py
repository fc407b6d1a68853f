"""Which link a task is about, and which of its slots.

A link is named by its tags (``orders``), and when several links share tags (or have none) by
their occurrence among them too (``link#0``, ``link#1``): the same pipeline file yields the same
keys in the scheduler and in every worker. A slot is a point of the link's own grid, a multiple
of its interval since the Unix epoch, in milliseconds: every scheduler computes the same slots,
so a standby carries on where the leader stopped.
"""

from __future__ import annotations

import collections
import contextvars
import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from databay.link import Link

__all__ = ["link_keys", "interval_ms", "Slot", "grid", "current_slot", "running_slot"]


def link_keys(links: list[Link]) -> dict[str, Link]:
    """Each link under its stable key, in pipeline order."""
    bases = [".".join(link.tags) or "link" for link in links]
    counts = collections.Counter(bases)
    seen: collections.Counter[str] = collections.Counter()
    keys: dict[str, Link] = {}
    for base, link in zip(bases, links, strict=True):
        key = base if counts[base] == 1 else f"{base}#{seen[base]}"
        seen[base] += 1
        keys[key] = link
    return keys


def interval_ms(link: Link) -> int:
    """The link's interval in whole milliseconds. :raises ValueError: below one millisecond."""
    milliseconds = round(link.interval.total_seconds() * 1000)
    if milliseconds < 1:
        raise ValueError(f"{link!r}: a CeleryPlanner link needs an interval of at least 1ms")
    return milliseconds


@dataclass(frozen=True)
class Slot:
    """One scheduled transfer: the link's key and the slot's time (ms since the epoch, UTC)."""

    link: str
    ms: int

    @property
    def time(self) -> datetime.datetime:
        """The slot's time, as an aware UTC datetime."""
        return datetime.datetime.fromtimestamp(self.ms / 1000, datetime.UTC)

    def __str__(self) -> str:
        return f"{self.link}@{self.time.isoformat(timespec='milliseconds')}"


def grid(interval: int, after: int, until: int) -> Iterator[int]:
    """The slots of an ``interval`` (ms) grid later than ``after`` and not later than ``until``."""
    slot = (after // interval + 1) * interval
    while slot <= until:
        yield slot
        slot += interval


_CURRENT: contextvars.ContextVar[Slot | None] = contextvars.ContextVar("databay_celery_slot", default=None)


def current_slot() -> Slot | None:
    """The slot whose transfer is running here (in a worker's inlets, processors and outlets), else None."""
    return _CURRENT.get()


@contextmanager
def running_slot(slot: Slot) -> Iterator[None]:
    """Mark the slot whose transfer runs in this block (a worker does this around each task)."""
    token = _CURRENT.set(slot)
    try:
        yield
    finally:
        _CURRENT.reset(token)
