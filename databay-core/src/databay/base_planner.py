"""BasePlanner: runs each link's transfer on the link's interval, through a scheduling library.

A planner owns a :class:`~databay.engine.runtime.Runtime` while it runs: one event loop, the
lifecycle idle → starting → running → stopping → stopped, the tasks of every transfer and the
nodes it started. Concrete planners only schedule: each due link goes to :meth:`_dispatch` (on
the loop) or :meth:`_transfer` (from a thread of their own); the overlap policy, exception
handling and shutdown order are the same for every planner.

.. seealso:: Extending BasePlanner in the user guide.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Coroutine
from typing import Any, Union

from databay.engine import observing
from databay.engine.overlap import Overlap, instance_limit
from databay.engine.runtime import Runtime, State
from databay.engine.transfer import run_transfer
from databay.errors import MissingLinkError, PlannerNotRunningError
from databay.link import Link
from databay.logs import log_failure
from databay.redaction import redact_text
from databay.stats import LinkStats, LinkTally, UniqueNames

__all__ = ["BasePlanner"]

_LOGGER = logging.getLogger("databay.BasePlanner")


class BasePlanner(ABC):
    """Schedules links; concrete planners implement ``_schedule``/``_unschedule`` (called from
    any thread), ``_start_planner`` (called on the planner's event loop; must not block) and
    ``_shutdown_planner`` (called from a thread of its own once stopping; may block).

    :param links: link or list of links to add and schedule.
    :param ignore_exceptions: log a failing transfer and keep going, instead of shutting down.
    :param immediate_transfer: on start, transfer once every link whose own
        ``immediate_transfer`` is True, before scheduling begins.
    :param shutdown_at_exit: shut down gracefully when the interpreter exits.
    :param overlap: what happens when a link falls due while its previous transfer still runs:
        ``"skip"`` (default), ``"wait"`` or ``"concurrent"`` (see :mod:`databay.engine.overlap`).
    :param max_instances: with ``overlap="concurrent"``, how many transfers of one link may run at once.
    :param threads: worker threads for links whose nodes are all synchronous, and for
        ``blocking`` nodes of async links.
    """

    not_running_error: type[Exception] = PlannerNotRunningError
    """Raised by :meth:`pause`/:meth:`resume` when not running; planners may raise their library's."""

    transfers_here: bool = True
    """Whether this process runs the links' transfers. A planner that only schedules them (workers
    elsewhere transfer, as with databay-celery) sets False: ``start()`` then starts no node and
    runs no immediate transfer, and its links are never stale here."""

    def __init__(
        self,
        links: Union[Link, list[Link], None] = None,
        ignore_exceptions: bool = False,
        immediate_transfer: bool = True,
        shutdown_at_exit: bool = False,
        *,
        overlap: Overlap = "skip",
        max_instances: int = 10,
        threads: int = 30,
    ):
        instance_limit(overlap, max_instances)
        self.overlap = overlap
        self._links: list[Link] = []
        self._names = UniqueNames()  # of self._links, for stats() and monitoring
        self._name_of: dict[Link, str] = {}
        self._ignore_exceptions = ignore_exceptions
        self.immediate_transfer = immediate_transfer
        self.shutdown_at_exit = shutdown_at_exit
        self._flush_buffers = True
        self.exception: BaseException | None = None
        """The exception that stopped the last run (``ignore_exceptions=False``), else None.
        ``start()`` returns normally either way, as in databay 0.3; check this after it returns."""
        self._runtime = Runtime(type(self).__name__, threads, overlap, max_instances, self._dispatched_done)
        self._running_since = 0.0  # monotonic: staleness counts from the start...
        self._resumed_at = 0.0  # ...or from the last resume, whichever is later
        _register_at_exit(self)
        if links is not None:
            self.add_links(links)

    @property
    def links(self) -> list[Link]:
        """Links governed by this planner."""
        return self._links

    @property
    def ignore_exceptions(self) -> bool:
        """Whether a failing transfer is logged and ignored rather than shutting the planner down."""
        return self._ignore_exceptions

    @property
    def state(self) -> State:
        """Where this planner is: idle, starting, running, stopping or stopped."""
        return self._runtime.state

    @property
    def running(self) -> bool:
        """Whether this planner is starting or running (paused counts as running)."""
        return self._runtime.state in (State.STARTING, State.RUNNING)

    # -- links ------------------------------------------------------------------------------

    def add_links(self, links: Union[Link, list[Link]]) -> None:
        """Add and schedule links; allowed while running (their nodes are started first).

        :raises RuntimeError: while running, a node's ``on_start`` failed (the link is not added).
        """
        links = list(links) if isinstance(links, (list, tuple)) else [links]
        governed = set(self._links)
        for link in links:
            if not isinstance(link, Link):
                raise TypeError(f"Provided link is not an instance of Link, found: {link!r}")
            if link in governed:
                raise ValueError(f"{self!r} already governs {link!r}")
            governed.add(link)
        for link in links:  # each gets a name no other link of this planner has, before joining
            self._name(link)
            self._links.append(link)
        if not self._hold_while_running(links):
            for link in links:
                self._links.remove(link)
                self._names.release(self._name_of.pop(link))
            raise RuntimeError(f"{self!r} could not start the nodes of {links!r}; see the log")
        for link in links:
            self._schedule(link)
            _LOGGER.info("Added link: %s", link)

    def _name(self, link: Link) -> None:
        """Name ``link`` in this planner: its own name (given by the first planner that took it)
        if no other link here has it, else its tags joined with dots (``"link"`` untagged),
        numbered. Only this planner's map changes: a link on two planners may have a name in
        each, and neither planner's names can go stale."""
        tally = link._tally
        base = ".".join(link.tags) or "link"
        name = self._names.claim(tally.name if tally is not None and tally.name not in self._names else base)
        if tally is None:
            link._tally = LinkTally(name)
        self._name_of[link] = name

    def stats(self) -> dict[str, LinkStats]:
        """Each link's figures (:class:`~databay.stats.LinkStats`), by its name (tags joined
        with dots): transfers, failures, records pulled, pushed, rejected and spilled, retries,
        durations, last success and failure, and whether it is stale (not succeeded for three
        intervals while the planner runs)."""
        since = self._staleness_since()
        names = self._name_of
        return {
            names[link]: link._tally.stats(names[link], link.interval.total_seconds(), since)
            for link in list(self._links)
            if link._tally is not None and link in names
        }

    def _hold_while_running(self, links: list[Link]) -> bool:
        """Start the nodes of links added to a running planner, on its loop; before its loop is
        up, start-up holds every link in ``links`` itself."""
        runtime = self._runtime
        if not self.transfers_here or runtime.state not in (State.STARTING, State.RUNNING) or runtime.stop_requested:
            return True
        try:
            return runtime.call(lambda: runtime.hold(links, self._ignore_exceptions)) is None
        except PlannerNotRunningError:  # not up yet (start-up holds it) or already over
            return True

    def remove_links(self, links: Union[Link, list[Link]]) -> None:
        """Unschedule and remove links. :raises MissingLinkError: a link is not in this planner.

        Nodes of a link removed while running stay started until the planner stops.
        """
        links = list(links) if isinstance(links, (list, tuple)) else [links]
        for link in links:
            if link not in self._links:
                raise MissingLinkError(f"Planner does not contain the link: {link!r}")
        for link in links:
            self._unschedule(link)
            self._links.remove(link)
            self._names.release(self._name_of.pop(link))
            self._runtime.forget(link)
            _LOGGER.info("Removed link: %s", link)

    def purge(self) -> None:
        """Unschedule and remove all links; allowed while running."""
        for link in self._links:
            self._unschedule(link)
        self._links = []
        self._names.clear()
        self._name_of.clear()

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start nodes (``on_start``), run immediate transfers, then schedule until :meth:`shutdown`.

        Blocks until the planner has stopped: by :meth:`shutdown` from another thread, a signal
        handler or a transfer, or by a failure when exceptions are not ignored.

        :raises PlannerAlreadyRunningError: this planner is already starting, running or stopping.
        """
        _LOGGER.info("Starting %s", self)
        observing.prepare()
        self._runtime.run(self._main)

    def shutdown(self, wait: bool = True, *, timeout: float | None = None, flush_buffers: bool = True) -> None:
        """Stop scheduling, let running transfers finish (``wait``) or cancel them, then shut the
        nodes down. Valid in every state; called before the planner is up, it stops the start.

        :param wait: wait for running transfers, and block until the planner has stopped (unless
            called from one of the planner's own transfers).
        :param timeout: with ``wait``, cancel transfers still running after this many seconds.
        :param flush_buffers: after the last transfer, release what the links' Buffers hold
            (:meth:`Link.flush`) and try batches spilled in memory once more, before the nodes shut down.
        """
        _LOGGER.info("Shutting down %s", self)
        self._flush_buffers = flush_buffers
        if self._runtime.request_stop(wait, timeout):
            self._runtime.wait_stopped()

    def pause(self) -> None:
        """Stop starting transfers until :meth:`resume`; running ones finish.

        :raises not_running_error: the planner is not starting or running.
        """
        self._set_paused(True)

    def resume(self) -> None:
        """Start transfers again after :meth:`pause`.

        :raises not_running_error: the planner is not starting or running.
        """
        self._set_paused(False)

    @property
    def paused(self) -> bool:
        """Whether :meth:`pause` holds back due transfers."""
        return self._runtime.paused

    def _staleness_since(self) -> float | None:
        """Since when a link without a success counts as stale (monotonic): the start or the last
        resume; None, never stale, unless running unpaused with transfers in this process."""
        if not self.running or self.paused or not self.transfers_here:
            return None
        return max(self._running_since, self._resumed_at)

    def _set_paused(self, paused: bool) -> None:
        runtime = self._runtime
        if runtime.state not in (State.STARTING, State.RUNNING):
            raise self.not_running_error(f"{self!r} is not running")
        _LOGGER.info("%s %s", "Pausing" if paused else "Resuming", self)
        if not paused:
            self._resumed_at = time.monotonic()
        runtime.paused = paused
        runtime.call_soon(self._apply_pause)

    def _apply_pause(self) -> None:
        """On the loop: bring the scheduler in line with the latest pause flag (last call wins)."""
        if self._runtime.state is State.RUNNING:
            (self._pause_planner if self._runtime.paused else self._resume_planner)()

    @property
    def lost_records(self) -> int:
        """Records its links failed to deliver and did not spill, plus those spilled in memory
        only (lost if the process ends now)."""
        return sum(link.undelivered + link._lost_at_exit() for link in self._links)

    async def _main(self) -> None:
        runtime = self._runtime
        self.exception, self._flush_buffers = None, True
        self._running_since = time.monotonic()
        start_error = runtime.hold(list(self._links), self._ignore_exceptions) if self.transfers_here else None
        if start_error is not None:
            self.exception = start_error
            return
        try:
            try:
                immediate = self.immediate_transfer and self.transfers_here
                if runtime.stop_requested or (immediate and not await self._immediate_transfers()):
                    return
                if not runtime.enter_running():
                    return
                self._start_planner()
                if runtime.paused:
                    self._apply_pause()
                try:
                    await runtime.wait_for_stop_request()
                finally:
                    await runtime.off_loop(lambda: self._shutdown_planner(runtime.stop_wait))
            except asyncio.CancelledError:  # Ctrl+C in start(): stop like shutdown(wait=False)
                runtime.request_stop(wait=False, timeout=None)
                raise
            finally:
                await runtime.drain()
                if self._flush_buffers:  # owned tasks, so the shutdown's timeout bounds them too
                    for link in list(self._links):
                        if link._holds_records():
                            runtime.spawn(self._run_link(link, flush=True))
                    await runtime.drain(final=True)
                self._report_leftovers()
        finally:
            runtime.release_all()  # even if cancelled again while draining

    def _report_leftovers(self) -> None:
        """Say what a stop leaves behind: spilled records lost with the process, or kept on disk."""
        if not self.transfers_here:  # the spills are the workers'
            return
        in_memory = sum(link._lost_at_exit() for link in self._links)
        on_disk = sum(link._deliverer.spilled for link in self._links if link._deliverer) - in_memory
        if in_memory:
            _LOGGER.error(
                "%s stopped with %d record(s) spilled in memory only: they are lost when the process ends "
                "(a Delivery state_dir keeps them for the next run)", self, in_memory,
            )
        if on_disk:
            _LOGGER.warning("%s stopped with %d record(s) spilled to disk: the next run delivers them first", self, on_disk)

    async def _immediate_transfers(self) -> bool:
        """Transfer the due links once, concurrently; False (stop starting) if one failed unignored
        or a shutdown arrived meanwhile (the drain then lets them finish or cancels them)."""
        due = [link for link in self._links if link.immediate_transfer]
        if not due:
            return True
        tasks = [self._runtime.spawn(self._run_link(link)) for link in due]
        stop: asyncio.Future[None] = asyncio.ensure_future(self._runtime.wait_for_stop_request())
        pending: set[asyncio.Future[Any]] = set(tasks)
        while pending and not stop.done():
            _, pending = await asyncio.wait(pending | {stop}, return_when=asyncio.FIRST_COMPLETED)
            pending.discard(stop)
        stop.cancel()
        return not pending and not self._runtime.stop_requested and all(task.result() for task in tasks)

    # -- transfers --------------------------------------------------------------------------

    def _dispatch(self, link: Link) -> None:
        """Start a due transfer of ``link`` on the planner's loop, under the overlap policy; call
        on the loop (scheduler callbacks, loop-driven schedulers). How it ends goes to
        :meth:`_dispatched_done`."""
        self._runtime.dispatch(link, self._transfer_of, link)

    def _transfer(self, link: Link) -> bool:
        """Run one transfer of ``link`` and wait for it: for planners that schedule from their
        own threads, and :meth:`force_transfer`. While running it goes through the planner's
        loop and overlap policy; once stopping it is skipped; failures go to :meth:`_on_exception`.

        :returns: False when the transfer failed and exceptions are not ignored.
        """
        runtime = self._runtime
        if runtime.state is State.STOPPING:
            return True
        if runtime.state is State.RUNNING and not runtime.on_own_thread():
            try:
                return runtime.submit(lambda: self._run_gated(link))
            except PlannerNotRunningError:
                return True
        try:
            link.transfer()
        except Exception as error:
            self._on_exception(error, link)
            return self._ignore_exceptions
        return True

    async def _run_gated(self, link: Link) -> bool:
        task = self._runtime.dispatch(link, self._transfer_of, link)
        if task is None:  # skipped (and logged) or stopping
            return True
        await asyncio.wait((task,))  # its failure went to _dispatched_done
        return task.cancelled() or not isinstance(task.exception(), Exception) or self._ignore_exceptions

    async def _run_link(self, link: Link, *, flush: bool = False) -> bool:
        """One transfer on the runtime, awaited (immediate, flushing and forced transfers).

        :returns: False when it failed and exceptions are not ignored.
        """
        try:
            await self._transfer_of(link, flush)
        except asyncio.CancelledError:
            self._cancelled(link)
            raise
        except Exception as error:
            self._on_exception(error, link)
            return self._ignore_exceptions
        return True

    def _transfer_of(self, link: Link, flush: bool = False) -> Coroutine[Any, Any, None]:
        """A transfer of ``link`` as the runtime runs it: async links on the loop, all-sync ones
        on a worker thread. (No coroutine of its own: one per transfer in flight, of ten
        thousand, is garbage-collector work; see :meth:`Runtime._spawned`.)"""
        if not link.is_async:
            return self._runtime.in_thread(link.flush if flush else link.transfer)
        if flush:
            link._arm_buffers()
        return run_transfer(link, pull=not flush, offload=True)

    def _dispatched_done(self, link: Link, task: asyncio.Task[Any]) -> None:
        """A dispatched transfer ended: as :meth:`_run_link` reports it, from its task. Any other
        BaseException (a test framework's, gevent's) goes to the loop's exception handler,
        which logs it, as asyncio would for a task nobody awaits."""
        if task.cancelled():
            self._cancelled(link)
        elif isinstance(error := task.exception(), Exception):
            self._on_exception(error, link)
        elif error is not None and not isinstance(error, (KeyboardInterrupt, SystemExit)):  # those stop the loop
            task.get_loop().call_exception_handler(
                {"message": f"A transfer of {link!r} raised {type(error).__name__}", "exception": error, "future": task}
            )

    @staticmethod
    def _cancelled(link: Link) -> None:
        _LOGGER.warning("A transfer of %r was cancelled by shutdown before it completed", link)

    def force_transfer(self) -> None:
        """Transfer every link once, now, and wait: even while paused or while a scheduled
        transfer of the link runs, as in databay 0.3 (on the planner's runtime when running).

        :raises RuntimeError: the planner only schedules (``transfers_here`` is False): its
            links transfer elsewhere, and one run here would bypass that (e.g. a cluster's claims).
        """
        if not self.transfers_here:
            raise RuntimeError(
                f"{self!r} only schedules; its links transfer elsewhere (its workers), so force_transfer() "
                "would run them outside the cluster's claims and overlap policy"
            )
        runtime = self._runtime
        for link in list(self._links):
            if runtime.state is State.RUNNING and not runtime.on_own_thread():
                try:
                    runtime.submit(lambda: self._run_owned(link))  # noqa: B023 (awaited at once)
                    continue
                except PlannerNotRunningError:
                    pass
            self._transfer(link)

    async def _run_owned(self, link: Link) -> bool:
        """A transfer outside the overlap policy, still owned (and drained) by the runtime."""
        return await self._runtime.spawn(self._run_link(link))

    def _on_exception(self, exception: Exception, link: Link | None = None) -> None:
        """Log a failure; unless ignoring exceptions, shut the running planner down gracefully:
        scheduling stops, running transfers of other links finish. Never blocks the caller."""
        where = f" Raised when executing {link!r}" if link is not None else ""
        log_failure(_LOGGER, exception, "%s: %s%s", type(exception).__name__, redact_text(str(exception)), where)
        if self._ignore_exceptions:
            return
        self.exception = self.exception or exception
        if self.running:
            _LOGGER.info("Shutting down %s", self)
            self._runtime.request_stop(wait=True, timeout=None)  # other links' transfers finish

    # -- what concrete planners implement ----------------------------------------------------

    @abstractmethod
    def _schedule(self, link: Link) -> None:
        """Arrange for ``link`` to be dispatched every ``link.interval``; may be called from any thread."""

    @abstractmethod
    def _unschedule(self, link: Link) -> None:
        """Stop dispatching ``link``; may be called from any thread, scheduled or not."""

    @abstractmethod
    def _start_planner(self) -> None:
        """Start scheduling; called on the planner's loop after nodes started, must not block."""

    @abstractmethod
    def _shutdown_planner(self, wait: bool = True) -> None:
        """Stop scheduling; called from a thread of its own (it may block), after which the
        runtime drains the running transfers."""

    def _pause_planner(self) -> None:
        """Pause the scheduler, if it can; called on the loop. Dispatches are refused meanwhile anyway."""

    def _resume_planner(self) -> None:
        """Resume the scheduler after :meth:`_pause_planner`; called on the loop."""

    def _at_exit(self) -> None:
        if self.shutdown_at_exit and self.running:
            _LOGGER.info('Attempting to shutdown planner "%s" gracefully.', self)  # databay 0.3's words
            self.shutdown(True)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(links:{len(self._links)})"


def _register_at_exit(planner: BasePlanner) -> None:
    """Register the exit hook through a weak reference, so the hook never keeps a planner alive."""
    ref = weakref.ref(planner)

    def at_exit() -> None:
        alive = ref()
        if alive is not None:
            alive._at_exit()

    atexit.register(at_exit)
