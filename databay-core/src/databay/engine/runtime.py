"""The runtime of a running planner: one event loop it owns, a structured lifecycle, and a task
scope that every transfer belongs to, so nothing a planner starts outlives it.

States go idle → starting → running → stopping → stopped, and a stopped planner may start again.
``shutdown`` is honoured in every state: before the loop exists (the start then ends without
scheduling anything), while nodes start or immediate transfers run, or while running. Nodes are
shut down only after every transfer using them has finished or, past the shutdown timeout, has
been cancelled.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import enum
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from databay.engine import loops
from databay.engine.overlap import Overlap, OverlapGate
from databay.errors import PlannerAlreadyRunningError, PlannerNotRunningError

if TYPE_CHECKING:
    from databay.link import Link
    from databay.node import Node

__all__ = ["Runtime", "State"]

T = TypeVar("T")
_LOGGER = logging.getLogger("databay.BasePlanner")


class State(enum.Enum):
    """Where a planner is in its lifecycle."""

    IDLE = "idle"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


class Runtime:
    """One planner's loop, lifecycle, transfer tasks, worker threads and started nodes."""

    def __init__(
        self, owner: str, threads: int, overlap: Overlap, max_instances: int,
        dispatched_done: Callable[[Link, asyncio.Task[Any]], None],
    ) -> None:
        self._owner = owner
        self._dispatched_done = dispatched_done
        self._threads = threads
        self._overlap: Overlap = overlap
        self._max_instances = max_instances
        self._lock = threading.RLock()  # a signal handler calling shutdown() may run inside run()
        self._runner_thread: int | None = None
        self._state = State.IDLE
        self._stop_before_start = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stop_requested = False
        self._stop_wait = True
        self._stop_timeout: float | None = None
        self._finished = threading.Event()
        self._finished.set()
        self._workers: set[int] = set()
        self._tasks: dict[asyncio.Task[Any], OverlapGate | None] = {}  # each owned task, and its link's gate
        self._callbacks = contextvars.Context()  # where task-done callbacks run: see _run and _spawned
        self._on_task_done = self._task_done  # bound once (see _spawned)
        self._gates: dict[Link, OverlapGate] = {}
        self._held: dict[Node, Link] = {}
        self._executor: _TrackedExecutor | None = None
        self.paused = False

    # -- state, from any thread -------------------------------------------------------------

    @property
    def state(self) -> State:
        """The current lifecycle state."""
        return self._state

    @property
    def stop_requested(self) -> bool:
        """Whether a shutdown has been asked for since this run started."""
        return self._stop_requested

    @property
    def stop_wait(self) -> bool:
        """Whether the pending shutdown lets in-flight transfers finish."""
        return self._stop_wait

    def run(self, main: Callable[[], Awaitable[None]]) -> None:
        """Run ``main`` on a new event loop owned by this runtime; blocks until it has stopped."""
        with self._lock:
            if self._state in (State.STARTING, State.RUNNING, State.STOPPING):
                raise PlannerAlreadyRunningError(f"{self._owner} is already {self._state.value}")
            self._stop_requested, self._stop_wait, self._stop_timeout = False, True, None
            self.paused = False
            self._runner_thread = threading.get_ident()
            self._finished.clear()
            self._state = State.STARTING  # from here a shutdown (even from a signal handler) stops the run
            if self._stop_before_start:
                self._stop_before_start = False
                self._state = State.STOPPED
                self._finished.set()
                _LOGGER.info("%s was shut down before it started; not starting", self._owner)
                return
        try:
            with asyncio.Runner() as runner:
                runner.run(self._run(main))
        finally:
            with self._lock:
                self._state = State.STOPPED
                self._loop = self._stop = None
                self._runner_thread = None
            self._finished.set()

    def enter_running(self) -> bool:
        """starting → running, unless a shutdown arrived meanwhile."""
        with self._lock:
            if self._stop_requested:
                return False
            self._state = State.RUNNING
            return True

    def request_stop(self, wait: bool, timeout: float | None) -> bool:
        """Ask the run to stop; returns whether the caller may block until it has stopped.

        Idle: the next start ends at once (a shutdown racing a start in another thread must win).
        """
        with self._lock:
            if self._state is State.IDLE:
                self._stop_before_start = True
                return False
            if self._state is State.STOPPED:
                return False
            if not self._stop_requested:
                self._stop_requested, self._stop_wait, self._stop_timeout = True, wait, timeout
                self._state = State.STOPPING
                if self._loop is not None and self._stop is not None:
                    self._loop.call_soon_threadsafe(self._stop.set)
        return wait and not self.on_own_thread()

    def wait_stopped(self, timeout: float | None = None) -> bool:
        """Block until the run is over."""
        return self._finished.wait(timeout)

    def on_own_thread(self) -> bool:
        """Whether the caller is this runtime's loop or one of its workers (it must not wait on itself)."""
        me = threading.get_ident()
        return me == self._runner_thread or me in self._workers or self._loop_thread()

    def _loop_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def submit(self, work: Callable[[], Awaitable[T]]) -> T:
        """Await ``work()`` on the loop from another thread and return its result.

        :raises PlannerNotRunningError: the run ended before the work could run.
        """
        loop = self._loop
        if loop is None:
            raise PlannerNotRunningError(f"{self._owner} is not running")

        async def on_loop() -> T:
            return await work()

        future = asyncio.run_coroutine_threadsafe(on_loop(), loop)
        while True:
            try:
                return future.result(0.1)
            except concurrent.futures.CancelledError:
                raise PlannerNotRunningError(f"{self._owner} stopped before the call completed") from None
            except concurrent.futures.TimeoutError:
                if self._finished.is_set():
                    future.cancel()
                    raise PlannerNotRunningError(f"{self._owner} stopped before the call ran") from None

    def call_soon(self, function: Callable[[], None]) -> None:
        """Run ``function`` on the loop thread without waiting (now, if already there); nothing
        if the loop is not up."""
        loop = self._loop
        if self._loop_thread():
            function()
        elif loop is not None:
            loop.call_soon_threadsafe(function)

    def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the loop thread (inline when already there) and return its result."""
        if self._loop_thread():
            return function()

        async def on_loop() -> T:
            return function()

        return self.submit(on_loop)

    # -- on the loop ----------------------------------------------------------------------

    async def _run(self, main: Callable[[], Awaitable[None]]) -> None:
        loop = asyncio.get_running_loop()
        executor = self._executor = _TrackedExecutor(self._threads, f"databay-{self._owner}", self._register_worker)
        loop.set_default_executor(executor)
        self._callbacks = contextvars.copy_context()  # the start() caller's, as each task's own copy is
        with self._lock:
            self._loop, self._stop = loop, asyncio.Event()
            if self._stop_requested:
                self._stop.set()
        try:
            await main()
        finally:
            await self._join_threads(executor)
            self._workers.clear()
            self._gates.clear()
            await loops.close_now()

    def _register_worker(self) -> None:
        self._workers.add(threading.get_ident())

    async def wait_for_stop_request(self) -> None:
        """Return once a shutdown has been asked for."""
        assert self._stop is not None
        await self._stop.wait()

    @property
    def tasks(self) -> frozenset[asyncio.Task[Any]]:
        """The tasks this runtime owns right now (for test clocks waiting on what a step started)."""
        return frozenset(self._tasks)

    def spawn(self, work: Awaitable[T], name: str | None = None) -> asyncio.Task[T]:
        """Start a task owned by this run: :meth:`drain` waits for it (or cancels it)."""
        task = self._spawned(work, None)
        if name:
            task.set_name(name)
        return task

    def dispatch(
        self, link: Link, transfer: Callable[..., Coroutine[Any, Any, T]], *args: Any
    ) -> asyncio.Task[T] | None:
        """Start ``transfer(*args)``, a due transfer of ``link``, as a task, unless paused,
        stopping or its overlap policy skips it (then None); once done, the task goes to the
        ``dispatched_done`` callback. Per transfer: one gate check, one task."""
        if self.paused or self._stop_requested:
            return None
        gate = self._gates.get(link)
        if gate is None:
            gate = self._gates[link] = OverlapGate(link, self._overlap, self._max_instances)
        if not gate.admit():
            return None
        gate.enter()
        return self._spawned(gate.wrap(transfer(*args)), gate)

    def _spawned(self, work: Awaitable[T], gate: OverlapGate | None) -> asyncio.Task[T]:
        """A task owned by this run; when done it leaves ``gate``.

        Ten thousand links keep ten thousand transfers in flight, each object of which survives
        into the garbage collector's oldest generation, whose collections scan everything: so a
        task gets one done-callback, a bound method made once, run in one context per run (a
        copy of the ``start()`` caller's, for log handlers that read context variables) instead
        of a fresh copy per callback.
        """
        task = asyncio.ensure_future(work)
        self._tasks[task] = gate
        task.add_done_callback(self._on_task_done, context=self._callbacks)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        gate = self._tasks.pop(task, None)
        if gate is not None:
            gate.leave()
            self._dispatched_done(gate.link, task)

    def forget(self, link: Link) -> None:
        """Drop a removed link's overlap gate (a transfer still running keeps its own reference)."""
        self._gates.pop(link, None)

    async def in_thread(self, function: Callable[..., T], *args: Any) -> T:
        """Run a blocking call on this run's worker threads."""
        return await asyncio.get_running_loop().run_in_executor(None, function, *args)

    async def drain(self, *, final: bool = False) -> None:
        """Wait for every task of this run; past the shutdown's timeout (or at once with
        ``wait=False``), cancel what is left. ``final``: the last tasks of a stop (flushing what
        Buffers hold), which get the shutdown's timeout even with ``wait=False``."""
        timeout = self._stop_timeout if self._stop_wait or final else 0
        while tasks := {task for task in self._tasks if not task.done()}:  # done: its callback is due
            _done, pending = await asyncio.wait(tasks, timeout=timeout)
            if pending:
                if timeout:
                    _LOGGER.warning("%s: cancelling %d transfer(s) still running after %ss", self._owner, len(pending), timeout)
                for task in pending:
                    task.cancel()
                await asyncio.wait(pending)
            timeout = 0
        if self._executor is not None:
            await self.off_loop(self._executor.wait_idle)

    async def _join_threads(self, executor: concurrent.futures.ThreadPoolExecutor) -> None:
        """Wait for worker threads: a thread cannot be cancelled, so nodes it uses stay up until it returns."""
        await self.off_loop(lambda: executor.shutdown(wait=True))

    async def off_loop(self, function: Callable[[], T]) -> T:
        """Run a blocking call on a thread of its own (not the workers, which may all be busy)."""
        result: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                result.set_result(function())
            except BaseException as error:
                result.set_exception(error)

        threading.Thread(target=run, name=f"databay-{self._owner}-stop", daemon=True).start()
        return await asyncio.wrap_future(result)

    # -- nodes ----------------------------------------------------------------------------

    def hold(self, links: Iterable[Link], ignore_exceptions: bool) -> Exception | None:
        """Start (reference-counted) every node of ``links`` this run doesn't hold yet.

        A failing ``on_start`` is logged in databay 0.3's words. Unless exceptions are ignored
        (by the planner or that link), the nodes this call started are released again and the
        error is returned (None when all started).
        """
        started: dict[Node, Link] = {}
        for link in links:
            for node in link.nodes:
                if node in self._held or node in started:
                    continue
                try:
                    node._acquire()
                except Exception as error:
                    link._lifecycle_failed(error, "on_start", node)
                    if ignore_exceptions or link.ignore_exceptions:
                        continue
                    self._release(started)
                    return error
                except BaseException:  # Ctrl+C during a slow on_start: leave nothing started
                    self._release(started)
                    raise
                started[node] = link
        self._held.update(started)
        return None

    def release_all(self) -> None:
        """Release every node this run started, last started first."""
        held, self._held = self._held, {}
        self._release(held)

    @staticmethod
    def _release(held: dict[Node, Link]) -> None:
        """Release nodes in reverse order, each guarded so one failing on_shutdown skips no other."""
        for node, link in reversed(held.items()):
            try:
                node._release()
            except Exception as error:
                link._lifecycle_failed(error, "on_shutdown", node)


class _TrackedExecutor(concurrent.futures.ThreadPoolExecutor):
    """Worker threads whose pending calls can be awaited: a cancelled transfer's thread keeps
    running, and the nodes it uses must stay up until it returns."""

    def __init__(self, threads: int, name: str, initializer: Callable[[], None]) -> None:
        super().__init__(threads, thread_name_prefix=name, initializer=initializer)
        self._pending: set[concurrent.futures.Future[Any]] = set()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        future = super().submit(fn, *args, **kwargs)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        return future

    def wait_idle(self) -> None:
        """Block until every call submitted so far has returned."""
        concurrent.futures.wait(list(self._pending))
