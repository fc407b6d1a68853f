"""SchedulePlanner: databay's planner on the ``schedule`` library.

Scheduling sets the schedule Job as the link's job. Unlike databay 0.3 this planner owns its
scheduler, wakes for the next due job instead of sleeping a fixed time after the work, and
keeps each link on a fixed rate.
"""

from __future__ import annotations

import datetime
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Union

import schedule

from databay import BasePlanner, Link
from databay.deprecations import ignore_exceptions_from
from databay.overlap import Overlap

__all__ = ["SchedulePlanner", "ScheduleIntervalError"]

_LOGGER = logging.getLogger("databay.SchedulePlanner")


class ScheduleIntervalError(Exception):
    """Raised when link interval is smaller than the Schedule refresh interval."""


class SchedulePlanner(BasePlanner):
    """Planner implementing scheduling using Schedule.

    :param links: link or list of links to add and schedule.
    :param threads: worker threads running the transfers.
    :param refresh_interval: the longest the planner sleeps between checks, in seconds; links
        with a shorter interval are rejected with :class:`ScheduleIntervalError`.
    :param ignore_exceptions: log failing transfers and keep going instead of shutting down.
    :param catch_exceptions: deprecated alias of ``ignore_exceptions``.
    :param immediate_transfer: transfer every link once when the planner starts.
    :param shutdown_at_exit: shut down gracefully when the interpreter exits.
    :param overlap: ``"skip"`` (default), ``"wait"`` or ``"concurrent"``: see :mod:`databay.overlap`.
    :param max_instances: with ``overlap="concurrent"``, transfers of one link allowed at once.
    """

    def __init__(
        self,
        links: Union[Link, list[Link], None] = None,
        threads: int = 30,
        refresh_interval: float = 1.0,
        ignore_exceptions: bool = False,
        catch_exceptions: bool | None = None,
        immediate_transfer: bool = True,
        shutdown_at_exit: bool = False,
        *,
        overlap: Overlap = "skip",
        max_instances: int = 10,
    ):
        ignore_exceptions = ignore_exceptions_from(ignore_exceptions, catch_exceptions, "SchedulePlanner")
        if refresh_interval <= 0:
            raise ValueError(f"refresh_interval must be positive, got {refresh_interval!r}")
        self._threads = threads
        self._refresh_interval = refresh_interval
        self._scheduler = schedule.Scheduler()
        self._lock = threading.Lock()
        self._in_flight: dict[Link, int] = {}
        self._wake = threading.Event()
        self._running = False
        self._executor: ThreadPoolExecutor | None = None
        super().__init__(
            links, ignore_exceptions, immediate_transfer, shutdown_at_exit, overlap=overlap, max_instances=max_instances
        )

    @property
    def refresh_interval(self) -> float:
        """The longest the planner sleeps between checks for due links, in seconds."""
        return self._refresh_interval

    @property
    def running(self) -> bool:
        """Whether this planner is running; set by start, cleared by shutdown."""
        return self._running

    def _schedule(self, link: Link) -> None:
        seconds = link.interval.total_seconds()
        if seconds < self._refresh_interval:
            raise ScheduleIntervalError(
                f"{link!r} has an interval of {seconds}s, shorter than the refresh interval of "
                f"{self._refresh_interval}s of {self!r}"
            )
        with self._lock:
            link.set_job(self._scheduler.every(seconds).seconds.do(self._submit, link))
        self._wake.set()

    def _unschedule(self, link: Link) -> None:
        with self._lock:
            self._scheduler.cancel_job(link.job)
        link.set_job(None)

    def _submit(self, link: Link) -> None:
        with self._lock:
            if self._in_flight.get(link, 0) >= self._instance_limit:
                _LOGGER.warning("Skipped a transfer of %r: %d still running", link, self._in_flight[link])
                return
            self._in_flight[link] = self._in_flight.get(link, 0) + 1
        self._executor.submit(self._run_transfer, link)

    def _run_transfer(self, link: Link) -> None:
        try:
            self._transfer(link)
        finally:
            with self._lock:
                self._in_flight[link] -= 1

    def _start_planner(self) -> None:
        self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="databay-schedule")
        self._running = True
        while self._running:
            self._run_due()
            idle = self._scheduler.idle_seconds
            timeout = self._refresh_interval if idle is None else min(max(idle, 0.0), self._refresh_interval)
            self._wake.wait(timeout)
            self._wake.clear()

    def _run_due(self) -> None:
        """Run the due jobs, then set each one's next run to its due time plus its interval."""
        with self._lock:
            due = [(job, job.next_run) for job in self._scheduler.jobs if job.should_run]
        for job, due_at in due:
            job.run()
            period = datetime.timedelta(seconds=job.interval)
            next_run = due_at + period
            now = datetime.datetime.now()
            while next_run <= now:  # fell behind: skip the missed runs, keep the phase
                next_run += period
            job.next_run = next_run

    def _shutdown_planner(self, wait: bool = True) -> None:
        self._running = False
        self._wake.set()
        executor = self._executor
        if executor is not None:
            executor.shutdown(wait=wait and not threading.current_thread().name.startswith("databay-schedule"))

    def _immediate_transfers(self, links: list[Link]) -> bool:
        """Make each link due now; the loop then transfers them concurrently on the workers."""
        now = datetime.datetime.now()
        for link in links:
            link.job.next_run = now
        return True

    def __repr__(self) -> str:
        return f"SchedulePlanner(threads:{self._threads}, refresh_interval:{self._refresh_interval})"
