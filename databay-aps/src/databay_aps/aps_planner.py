"""ApsPlanner: databay's planner on the Advanced Python Scheduler (APScheduler 3.x).

Async links run as tasks on the planner's event loop (APScheduler's AsyncIOScheduler and
AsyncIOExecutor), so thousands of them need no thread each; sync links run on a thread pool.
Scheduling sets the APScheduler Job as the link's job.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import threading
import warnings
from typing import Any, Union

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from databay import BasePlanner, Link, event_loops
from databay.deprecations import ignore_exceptions_from
from databay.overlap import Overlap, instance_limit

__all__ = ["ApsPlanner", "APSPlanner"]

_LOGGER = logging.getLogger("databay.ApsPlanner")

_THREADS = "threadpool"


class ApsPlanner(BasePlanner):
    """Planner implementing scheduling using APScheduler.

    :param links: link or list of links to add and schedule.
    :param threads: worker threads for links with only sync nodes.
    :param executors_override: overrides for APScheduler's ``executors`` option.
    :param job_defaults_override: overrides for APScheduler's ``job_defaults`` option
        (``coalesce=True``, ``max_instances=1``, ``misfire_grace_time=None`` by default).
    :param ignore_exceptions: log failing transfers and keep going instead of shutting down.
    :param catch_exceptions: deprecated alias of ``ignore_exceptions``.
    :param immediate_transfer: transfer every link once as soon as the planner starts.
    :param shutdown_at_exit: shut down gracefully when the interpreter exits.
    :param overlap: ``"skip"`` (default), ``"wait"`` or ``"concurrent"``: see :mod:`databay.overlap`.
        It sets APScheduler's ``max_instances``, which ``job_defaults_override`` may still override.
    :param max_instances: with ``overlap="concurrent"``, transfers of one link allowed at once.
    """

    def __init__(
        self,
        links: Union[Link, list[Link], None] = None,
        threads: int = 30,
        executors_override: dict | None = None,
        job_defaults_override: dict | None = None,
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
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested: asyncio.Event | None = None
        self._transfers: set[asyncio.Task] = set()
        self._stopped = threading.Event()
        self._stopped.set()
        executors = {"default": AsyncIOExecutor(), _THREADS: ThreadPoolExecutor(threads), **(executors_override or {})}
        job_defaults = {
            "coalesce": True,
            "max_instances": instance_limit(overlap, max_instances),
            "misfire_grace_time": None,
            **(job_defaults_override or {}),
        }
        self._async_turns: dict[Link, asyncio.Lock] = {}
        self._scheduler = AsyncIOScheduler(executors=executors, job_defaults=job_defaults)
        super().__init__(
            links, ignore_exceptions, immediate_transfer, shutdown_at_exit, overlap=overlap, max_instances=max_instances
        )

    @property
    def running(self) -> bool:
        """Whether the scheduler is running (paused counts as running)."""
        return self._scheduler.running

    def _schedule(self, link: Link) -> None:
        trigger = IntervalTrigger(seconds=link.interval.total_seconds())
        if link.is_async:
            job = self._scheduler.add_job(self._transfer_async, trigger, args=[link], name=repr(link))
        else:
            job = self._scheduler.add_job(self._transfer, trigger, args=[link], executor=_THREADS, name=repr(link))
        link.set_job(job)

    def _unschedule(self, link: Link) -> None:
        try:
            link.job.remove()
        except JobLookupError:  # already gone, e.g. removed by the scheduler's shutdown
            pass
        link.set_job(None)

    def _immediate_transfers(self, links: list[Link]) -> bool:
        """Make each link due now instead of transferring them one after another before starting."""
        now = datetime.datetime.now(datetime.UTC)
        for link in links:
            link.job.modify(next_run_time=now)
        return True

    async def _transfer_async(self, link: Link) -> None:
        task = asyncio.current_task()
        self._transfers.add(task)
        try:
            if self.overlap == "wait":
                async with self._async_turns.setdefault(link, asyncio.Lock()):
                    await link.transfer_async()
            else:
                await link.transfer_async()
        except asyncio.CancelledError:
            _LOGGER.warning("A transfer of %r was cancelled by shutdown(wait=False) before it completed", link)
        except Exception as error:
            self._on_exception(error, link)
        finally:
            self._transfers.discard(task)

    def start(self) -> None:
        """Start scheduling; blocks until :meth:`shutdown`."""
        super().start()

    def _start_planner(self) -> None:
        self._stopped.clear()
        try:
            with asyncio.Runner() as runner:
                runner.run(self._run())
        finally:
            self._loop = None
            self._stopped.set()

    async def _run(self) -> None:
        """The planner's event loop: the scheduler runs on it until a stop is requested."""
        self._loop = asyncio.get_running_loop()
        event_loops.adopt(self._loop)
        self._stop_requested = asyncio.Event()
        self._scheduler.start()  # picks up the running loop
        try:
            await self._stop_requested.wait()
        finally:
            await event_loops.run_before_close_callbacks()

    def _shutdown_planner(self, wait: bool = True) -> None:
        loop = self._loop
        if loop is None or not self._scheduler.running:
            return
        asyncio.run_coroutine_threadsafe(self._stop(wait), loop)
        if wait and not self._in_loop_thread():
            self._stopped.wait()

    async def _stop(self, wait: bool) -> None:
        if wait:
            await asyncio.gather(*(self._transfers - {asyncio.current_task()}), return_exceptions=True)
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)  # runs on this loop's next iteration
        self._loop.call_soon(self._stop_requested.set)

    def _in_loop_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def pause(self) -> None:
        """Pause scheduling; running transfers finish, no new ones start until :meth:`resume`."""
        self._scheduler.pause()

    def resume(self) -> None:
        """Resume scheduling after :meth:`pause`."""
        self._scheduler.resume()

    def __repr__(self) -> str:
        return f"ApsPlanner(threads:{self._threads})"


class APSPlanner(ApsPlanner):
    """Deprecated alias of :class:`ApsPlanner`."""

    def __init__(self, *args: Any, **kwargs: Any):
        warnings.warn("APSPlanner is deprecated; use ApsPlanner.", DeprecationWarning, stacklevel=2)
        super().__init__(*args, **kwargs)
