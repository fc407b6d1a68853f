"""Links grouped by interval, so a scheduler runs one job per interval instead of one per link.

Ten thousand links on one interval are then one scheduler job whose tick dispatches them all;
scheduling libraries do per-job bookkeeping (a sorted job store, a next-run computation) that
would otherwise cost more than the transfers. A link added while its group is scheduled takes the
group's phase: its first transfer comes on the group's next tick, within one interval.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from databay.link import Link

__all__ = ["IntervalGroups"]

Job = TypeVar("Job")


class IntervalGroups(Generic[Job]):
    """Interval (seconds) → one scheduler job and its links; safe to change from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[float, Job] = {}
        self._links: dict[float, list[Link]] = {}

    def add(self, link: Link, make_job: Callable[[float], Job]) -> Job:
        """Put ``link`` in its interval's group, making that group's job if it is the first."""
        key = link.interval.total_seconds()
        with self._lock:
            if key not in self._jobs:
                self._jobs[key] = make_job(key)
                self._links[key] = []
            self._links[key].append(link)
            return self._jobs[key]

    def remove(self, link: Link, drop_job: Callable[[Job], None]) -> Job | None:
        """Take ``link`` out of its group (dropping the group's job when it empties); None if absent."""
        key = link.interval.total_seconds()
        with self._lock:
            links = self._links.get(key, [])
            if link not in links:
                return None
            links.remove(link)
            job = self._jobs[key]
            if not links:
                del self._jobs[key], self._links[key]
                drop_job(job)
            return job

    def links(self, key: float) -> list[Link]:
        """The links of one group, as a snapshot."""
        with self._lock:
            return list(self._links.get(key, ()))
