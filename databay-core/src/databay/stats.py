"""Per-link statistics: what :meth:`BasePlanner.stats() <databay.base_planner.BasePlanner.stats>`
returns, gathered by core's own observer (the same hooks a metrics plugin implements).

A planner attaches a tally to each link it governs; the observer hooks below count into it, so a
link no planner holds costs them one attribute check. Figures count from when the link was added
to a planner; a link is *stale* when it has not succeeded for three times its interval since its
planner started (a success: the transfer raised nothing, ignored no node failure and spilled nothing).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from databay.hookspecs import hookimpl
from databay.redaction import redact_text

if TYPE_CHECKING:
    from databay.engine.observing import TransferResult
    from databay.link import Link
    from databay.outlet import Outlet
    from databay.record import Record
    from databay.update import Update

__all__ = [
    "STALE_AFTER_INTERVALS",
    "DurationSummary",
    "LinkStats",
    "LinkTally",
    "UniqueNames",
    "link_name",
    "transfer_finished",
    "delivery_retry",
    "records_rejected",
    "records_spilled",
]

STALE_AFTER_INTERVALS = 3
"""A link is stale when it has not succeeded for this many intervals."""


@dataclass(frozen=True)
class DurationSummary:
    """Transfer durations so far, in seconds (all zero before the first transfer)."""

    count: int = 0
    total: float = 0.0
    min: float = 0.0
    max: float = 0.0

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0


@dataclass(frozen=True)
class LinkStats:
    """One link's figures since a planner took it; times are Unix timestamps (``time.time()``)."""

    name: str
    """The link's tags joined with dots (``"link"`` when untagged; ``#2``, ``#3``… when two links share them)."""
    interval: float
    """Seconds between transfers."""
    transfers: int
    """Transfers finished, failed or not."""
    failures: int
    """Transfers that did not succeed: raised, went on after a node failure, or spilled records."""
    records_pulled: int
    records_pushed: int
    """Records outlets accepted (under a Delivery: delivered, not spilled or rejected)."""
    records_rejected: int
    """Records outlets refused one by one (``RejectedRecords``)."""
    records_spilled: int
    """Records a Delivery spilled, to redeliver later."""
    retries: int
    """Pushes a Delivery tried again."""
    last_duration: float | None
    """Seconds the last transfer took."""
    durations: DurationSummary
    last_success: float | None
    last_failure: float | None
    last_error: str | None
    """The last failure's error, type and message, with URL secrets masked."""
    stale: bool
    """No success for :data:`STALE_AFTER_INTERVALS` intervals since the planner started."""


class LinkTally:
    """The running counts behind one link's :class:`LinkStats`; updated from any thread.

    All tallies share one lock: it is held for a few additions, and ten thousand links' locks
    would be ten thousand more objects for every full garbage collection to scan.
    """

    _lock = threading.Lock()

    def __init__(self, name: str) -> None:
        self.name = name
        self.since = time.monotonic()
        """When a planner took the link (monotonic)."""
        self._transfers = self._failures = self._pulled = self._pushed = 0
        self._rejected = self._spilled = self._retries = 0
        self._total = 0.0
        self._min = math.inf
        self._max = 0.0
        self._last_duration: float | None = None
        self._last_success: float | None = None
        self._last_success_at: float | None = None  # monotonic, for staleness
        self._last_failure: float | None = None
        self._last_error: str | None = None

    def finished(self, result: TransferResult) -> None:
        duration = result.duration
        pulled = sum(result.pulled.values())
        pushed = sum(result.pushed.values())
        failed = not result.ok
        error = None
        if failed:  # described before taking the lock all tallies share: str() of an error is user code
            error = _describe(result.last_error) if result.last_error is not None else "records spilled"
        with self._lock:
            self._transfers += 1
            self._pulled += pulled
            self._pushed += pushed
            self._total += duration
            self._last_duration = duration
            if duration < self._min:
                self._min = duration
            if duration > self._max:
                self._max = duration
            if not failed:
                self._last_success, self._last_success_at = time.time(), time.monotonic()
                return
            self._failures += 1
            self._last_failure = time.time()
            self._last_error = error

    def count(self, *, retries: int = 0, rejected: int = 0, spilled: int = 0) -> None:
        with self._lock:
            self._retries += retries
            self._rejected += rejected
            self._spilled += spilled

    def stats(self, name: str, interval: float, running_since: float | None) -> LinkStats:
        """A snapshot, under the link's ``name`` in the asking planner; ``running_since``: since when a link without a success is stale (the planner's
        start or last resume); None when it cannot be (not running, paused, transfers elsewhere)."""
        with self._lock:
            since = max(self._last_success_at or 0.0, self.since, running_since or 0.0)
            stale = running_since is not None and interval > 0 and time.monotonic() - since > STALE_AFTER_INTERVALS * interval
            return LinkStats(
                name=name,
                interval=interval,
                transfers=self._transfers,
                failures=self._failures,
                records_pulled=self._pulled,
                records_pushed=self._pushed,
                records_rejected=self._rejected,
                records_spilled=self._spilled,
                retries=self._retries,
                last_duration=self._last_duration,
                durations=DurationSummary(self._transfers, self._total, self._min if self._transfers else 0.0, self._max),
                last_success=self._last_success,
                last_failure=self._last_failure,
                last_error=self._last_error,
                stale=stale,
            )


class UniqueNames:
    """The names of one planner's links: a name asked for again becomes ``name#2``, ``name#3``…

    Each claim costs O(1), so ten thousand untagged links (all ``"link"``) are named in linear time.
    """

    def __init__(self) -> None:
        self._taken: set[str] = set()
        self._next_number: dict[str, int] = {}  # name -> the first suffix not yet tried

    def claim(self, name: str) -> str:
        """``name`` if free, else the first free ``name#N``; it is taken until released."""
        unique = name
        if unique in self._taken:
            number = self._next_number.get(name, 2)
            while (unique := f"{name}#{number}") in self._taken:
                number += 1
            self._next_number[name] = number + 1
        self._taken.add(unique)
        return unique

    def release(self, name: str) -> None:
        self._taken.discard(name)
        base, numbered, number = name.rpartition("#")
        if numbered and number.isdigit() and int(number) < self._next_number.get(base, 0):
            self._next_number[base] = int(number)  # the first free name#N is this one again

    def clear(self) -> None:
        self._taken.clear()
        self._next_number.clear()

    def __contains__(self, name: object) -> bool:
        return name in self._taken


def link_name(link: Link) -> str:
    """The name monitoring shows for a link: its tags joined with dots, ``"link"`` when untagged
    (a planner's :meth:`~databay.base_planner.BasePlanner.stats` adds ``#2``… to repeats)."""
    tally = link._tally
    return tally.name if tally is not None else ".".join(link._tags) or "link"


def _describe(error: BaseException) -> str:
    return redact_text(f"{type(error).__name__}: {error}")


# Core's observer: registered through databay.default_plugins, like any plugin's.


@hookimpl
def transfer_finished(link: Link, update: Update, result: TransferResult) -> None:
    tally = link._tally
    if tally is not None:
        tally.finished(result)


@hookimpl
def delivery_retry(link: Link, update: Update, outlet: Outlet, attempt: int, error: BaseException | None, wait: float) -> None:
    tally = link._tally
    if tally is not None:
        tally.count(retries=1)


@hookimpl
def records_rejected(link: Link, update: Update, outlet: Outlet, rejected: list[tuple[Record, BaseException]]) -> None:
    tally = link._tally
    if tally is not None:
        tally.count(rejected=len(rejected))


@hookimpl
def records_spilled(link: Link, update: Update, outlet: Outlet, count: int) -> None:
    tally = link._tally
    if tally is not None:
        tally.count(spilled=count)
