"""SchedulePlanner: databay's planner on the ``schedule`` library.

The planner owns a ``schedule.Scheduler`` with one job per distinct link interval, and a ticker
task on the planner's event loop that wakes for the next due job (or every
``refresh_interval``). A due job dispatches its links: async ones run as tasks on the loop, links
of sync nodes on worker threads. Each job keeps a fixed rate. The group's schedule Job is set as
each link's job.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import threading
from typing import Union

import schedule

from databay import BasePlanner, Link
from databay.deprecations import ignore_exceptions_from
from databay.engine.groups import IntervalGroups
from databay.engine.overlap import Overlap

__all__ = ["SchedulePlanner", "ScheduleIntervalError"]

_LOGGER = logging.getLogger("databay.SchedulePlanner")


class ScheduleIntervalError(Exception):
    """Raised when link interval is smaller than the Schedule refresh interval."""


class SchedulePlanner(BasePlanner):
    """Planner implementing scheduling using Schedule.

    :param links: link or list of links to add and schedule.
    :param threads: worker threads for links with only sync nodes, and blocking sync nodes.
    :param refresh_interval: the longest the planner sleeps between checks, in seconds; links
        with a shorter interval are rejected with :class:`ScheduleIntervalError`.
    :param ignore_exceptions: log failing transfers and keep going instead of shutting down.
    :param catch_exceptions: deprecated alias of ``ignore_exceptions``.
    :param immediate_transfer: transfer every link once when the planner starts.
    :param shutdown_at_exit: shut down gracefully when the interpreter exits.
    :param overlap: ``"skip"`` (default), ``"wait"`` or ``"concurrent"``: see :mod:`databay.engine.overlap`.
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
        self._lock = threading.Lock()  # schedule.Scheduler is not thread-safe; links come from any thread
        self._groups: IntervalGroups[schedule.Job] = IntervalGroups()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ticker: asyncio.Task[None] | None = None
        super().__init__(
            links, ignore_exceptions, immediate_transfer, shutdown_at_exit,
            overlap=overlap, max_instances=max_instances, threads=threads,
        )

    @property
    def refresh_interval(self) -> float:
        """The longest the planner sleeps between checks for due links, in seconds."""
        return self._refresh_interval

    def _schedule(self, link: Link) -> None:
        seconds = link.interval.total_seconds()
        if seconds < self._refresh_interval:
            raise ScheduleIntervalError(
                f"{link!r} has an interval of {seconds}s, shorter than the refresh interval of "
                f"{self._refresh_interval}s of {self!r}"
            )
        link.set_job(self._groups.add(link, self._add_job))
        self._wake_up()

    def _add_job(self, seconds: float) -> schedule.Job:
        with self._lock:
            # schedule types the interval as int, but takes (and 0.3 passed) fractional seconds
            return self._scheduler.every(seconds).seconds.do(self._tick, seconds)  # type: ignore[arg-type]

    def _drop_job(self, job: schedule.Job) -> None:
        with self._lock:
            self._scheduler.cancel_job(job)

    def _unschedule(self, link: Link) -> None:
        job = self._groups.remove(link, self._drop_job)
        if job is not None and link.job is job:
            link.set_job(None)

    def _tick(self, seconds: float) -> None:
        for link in self._groups.links(seconds):
            self._dispatch(link)

    def _wake_up(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            loop.call_soon_threadsafe(wake.set)

    def _start_planner(self) -> None:
        now = datetime.datetime.now()
        with self._lock:  # a restart begins a fresh interval, not the runs missed while stopped
            for job in self._scheduler.jobs:
                job.next_run = now + datetime.timedelta(seconds=job.interval)
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        self._ticker = self._runtime.spawn(self._run_ticker(self._wake), name="databay-schedule-ticker")

    async def _run_ticker(self, wake: asyncio.Event) -> None:
        while True:
            try:
                self._run_due()
            except Exception:  # keep scheduling the other links
                _LOGGER.exception("%r: dispatching due links failed", self)
            with self._lock:
                idle = self._scheduler.idle_seconds
            timeout = self._refresh_interval if idle is None else min(max(idle, 0.0), self._refresh_interval)
            try:
                async with asyncio.timeout(timeout):  # no task per wake, unlike wait_for on 3.11
                    await wake.wait()
            except TimeoutError:
                pass
            wake.clear()

    def _next_due(self) -> datetime.datetime | None:
        """When the next job falls due, in local time (for :mod:`databay.testing.clock`)."""
        with self._lock:
            return self._scheduler.next_run if self._scheduler.jobs else None

    def _run_due(self) -> None:
        """Run the due jobs, then set each one's next run to its due time plus its interval
        (also how :mod:`databay.testing.clock` steps this planner)."""
        with self._lock:
            due = [job for job in self._scheduler.jobs if job.should_run]
        for job in due:
            due_at = job.next_run
            assert due_at is not None  # should_run implies a next run
            job.run()
            period = datetime.timedelta(seconds=job.interval)
            next_run = due_at + period
            now = datetime.datetime.now()
            while next_run <= now:  # fell behind: skip the missed runs, keep the phase
                next_run += period
            job.next_run = next_run

    def _shutdown_planner(self, wait: bool = True) -> None:
        loop, ticker = self._loop, self._ticker
        self._loop = self._wake = self._ticker = None
        if loop is not None and ticker is not None:
            loop.call_soon_threadsafe(ticker.cancel)

    def __repr__(self) -> str:
        return f"SchedulePlanner(threads:{self._threads}, refresh_interval:{self._refresh_interval})"
