"""ApsPlanner: databay's planner on the Advanced Python Scheduler (APScheduler 3.x).

APScheduler's AsyncIOScheduler runs on the planner's own event loop, with one job per distinct
link interval whose tick dispatches that interval's links: async links run as tasks on the loop,
links of sync nodes on the planner's worker threads. The group's APScheduler Job is set as each
link's job.
"""

from __future__ import annotations

import datetime
import functools
import warnings
from collections.abc import Callable
from typing import Any, Union

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.interval import IntervalTrigger

from databay import BasePlanner, Link
from databay.deprecations import ignore_exceptions_from
from databay.engine.groups import IntervalGroups
from databay.engine.overlap import Overlap
from databay.errors import PlannerNotRunningError

__all__ = ["ApsPlanner", "APSPlanner", "ApsPlannerNotRunningError"]

_DISPATCH = "databay"  # our own executor, so executors_override cannot take our ticks off the loop


class ApsPlannerNotRunningError(PlannerNotRunningError, SchedulerNotRunningError):
    """pause()/resume() on an ApsPlanner that is not running; also APScheduler's SchedulerNotRunningError."""


class ApsPlanner(BasePlanner):
    """Planner implementing scheduling using APScheduler.

    :param links: link or list of links to add and schedule.
    :param threads: worker threads for links with only sync nodes, and blocking sync nodes.
    :param executors_override: overrides for APScheduler's ``executors`` option.
    :param job_defaults_override: overrides for APScheduler's ``job_defaults`` option
        (``coalesce=True``, ``misfire_grace_time=None`` by default). Its ``max_instances`` above 1
        means ``overlap="concurrent"`` with that many instances, as in databay 0.3.
    :param ignore_exceptions: log failing transfers and keep going instead of shutting down.
    :param catch_exceptions: deprecated alias of ``ignore_exceptions``.
    :param immediate_transfer: transfer every link once as soon as the planner starts.
    :param shutdown_at_exit: shut down gracefully when the interpreter exits.
    :param overlap: ``"skip"`` (default), ``"wait"`` or ``"concurrent"``: see :mod:`databay.engine.overlap`.
    :param max_instances: with ``overlap="concurrent"``, transfers of one link allowed at once.
    """

    not_running_error = ApsPlannerNotRunningError

    def __init__(
        self,
        links: Union[Link, list[Link], None] = None,
        threads: int = 30,
        executors_override: dict[str, Any] | None = None,
        job_defaults_override: dict[str, Any] | None = None,
        ignore_exceptions: bool = False,
        catch_exceptions: bool | None = None,
        immediate_transfer: bool = True,
        shutdown_at_exit: bool = False,
        *,
        overlap: Overlap = "skip",
        max_instances: int = 10,
    ):
        ignore_exceptions = ignore_exceptions_from(ignore_exceptions, catch_exceptions, "ApsPlanner")
        self._threads = threads
        self._groups: IntervalGroups[Job] = IntervalGroups()
        executors = {"default": AsyncIOExecutor(), **(executors_override or {}), _DISPATCH: AsyncIOExecutor()}
        job_defaults = {"coalesce": True, "misfire_grace_time": None, **(job_defaults_override or {})}
        aps_instances = job_defaults.pop("max_instances", 1)
        if overlap == "skip" and aps_instances > 1:  # databay 0.3's way of allowing concurrent transfers
            overlap, max_instances = "concurrent", aps_instances
        self._scheduler = AsyncIOScheduler(executors=executors, job_defaults=job_defaults)
        super().__init__(
            links, ignore_exceptions, immediate_transfer, shutdown_at_exit,
            overlap=overlap, max_instances=max_instances, threads=threads,
        )

    def _schedule(self, link: Link) -> None:
        link.set_job(self._groups.add(link, self._add_job))

    def _add_job(self, seconds: float) -> Job:
        return self._scheduler.add_job(
            self._tick, IntervalTrigger(seconds=seconds), args=[seconds], executor=_DISPATCH,
            name=f"databay links every {seconds}s", max_instances=1,
        )

    def _unschedule(self, link: Link) -> None:
        job = self._groups.remove(link, _remove_job)
        if job is not None and link.job is job:
            link.set_job(None)

    async def _tick(self, seconds: float) -> None:
        for link in self._groups.links(seconds):
            self._dispatch(link)

    def _start_planner(self) -> None:
        self._scheduler.start()

    def _shutdown_planner(self, wait: bool = True) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)  # the planner's runtime waits for transfers

    def _pause_planner(self) -> None:
        if self._scheduler.running:
            self._scheduler.pause()

    def _resume_planner(self) -> None:
        if self._scheduler.running:
            self._scheduler.resume()

    def _next_due(self) -> datetime.datetime | None:
        """When the next job falls due; None unless scheduling (for :mod:`databay.testing.clock`)."""
        if self._scheduler.state != STATE_RUNNING:
            return None
        times = [job.next_run_time for job in self._scheduler.get_jobs() if job.next_run_time is not None]
        return min(times, default=None)

    def _run_due(self) -> None:
        """Have APScheduler process the jobs due now, as its own timer does (for :mod:`databay.testing.clock`)."""
        self._scheduler.wakeup()

    def __repr__(self) -> str:
        return f"ApsPlanner(threads:{self._threads})"


def _remove_job(job: Job) -> None:
    try:
        job.remove()
    except JobLookupError:  # already gone
        pass


def _deprecated_alias(init: Callable[..., None]) -> Callable[..., None]:
    """ApsPlanner's own ``__init__`` (and signature, through ``__wrapped__``) with a warning first."""

    @functools.wraps(init)
    def warn_then_init(self: ApsPlanner, *args: Any, **kwargs: Any) -> None:
        warnings.warn("APSPlanner is deprecated; use ApsPlanner.", DeprecationWarning, stacklevel=2)
        init(self, *args, **kwargs)

    return warn_then_init


class APSPlanner(ApsPlanner):
    """Deprecated alias of :class:`ApsPlanner`."""

    __init__ = _deprecated_alias(ApsPlanner.__init__)
