"""A simulated clock that drives real planners and Buffers without sleeping.

The scheduling libraries read the wall clock themselves (APScheduler's triggers and job
processing, schedule's ``Job.should_run``, a Buffer's ``time_threshold``), so the clock has to be
moved where they read it: time-machine (``pip install "time-machine>=3"``; since 3.0 it leaves
``time.monotonic`` alone, so event loops and thread waits keep working) stops ``time.time()``
and ``datetime.now()`` and moves them only when the test says so. A planner is then stepped from
one due time to the next: the clock asks it when its next job falls due (``_next_due``), moves
time there, has it run what is due through its scheduling library (``_run_due``, on its own
loop) and waits until no transfer runs any more, however it started: a planner's own timer
still wakes in real time and may start a due transfer between the clock moving time and the
step. Tasks a planner keeps from its start (a ticker) are not waited for. Planners that
implement both (:class:`SteppablePlanner`) can be driven; ApsPlanner and SchedulePlanner do.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import functools
import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol, TypeVar, runtime_checkable

from databay.base_planner import BasePlanner
from databay.engine.runtime import State

__all__ = ["SimulatedClock", "SteppablePlanner", "EPOCH"]

EPOCH = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
"""Where simulated time starts unless told otherwise: a fixed instant, so runs are repeatable."""

P = TypeVar("P", bound=BasePlanner)


@runtime_checkable
class SteppablePlanner(Protocol):
    """A planner the simulated clock can drive (both methods are called on the planner's loop)."""

    def _next_due(self) -> datetime.datetime | None:
        """When its next scheduled job falls due (naive means local time), or None if none is."""

    def _run_due(self) -> None:
        """Run the jobs due now through its scheduling library, as its own timer would."""


class SimulatedClock:
    """Frozen time that moves only on :meth:`advance`, stepping the planners it drives through every
    due time on the way. Time is simulated from ``__enter__`` to ``__exit__`` (the ``databay_clock``
    fixture: for the whole test).

    :param start: the simulated time to begin at.
    """

    def __init__(self, start: datetime.datetime = EPOCH) -> None:
        import time_machine

        self._travel = time_machine.travel(start, tick=False)
        self._planners: list[BasePlanner] = []
        self._services: dict[BasePlanner, frozenset[asyncio.Task[Any]]] = {}
        """Per driven planner, the tasks it kept running from its start (a ticker): never waited for."""

    def __enter__(self) -> SimulatedClock:
        self._traveller = self._travel.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._travel.stop()

    def now(self) -> datetime.datetime:
        """The simulated time, in UTC."""
        return datetime.datetime.now(datetime.UTC)

    def advance(self, by: datetime.timedelta | float) -> None:
        """Move time forward by ``by`` (a timedelta or seconds). On the way, every running planner
        this clock drives transfers each link at each of its due times; returns once those
        transfers have finished."""
        delta = by if isinstance(by, datetime.timedelta) else datetime.timedelta(seconds=by)
        if delta < datetime.timedelta(0):
            raise ValueError(f"time only moves forward; got {delta}")
        target = self.now() + delta
        stepped: datetime.datetime | None = None
        while (due := self._next_due()) is not None and due <= target:
            if stepped is not None and due <= stepped:
                raise RuntimeError(f"a planner stayed due at {due} after running what was due")
            stepped = max(due, self.now())
            self._traveller.move_to(stepped)
            for planner in self._running():
                planner._runtime.submit(functools.partial(_step, planner, self._services[planner]))
        self._traveller.move_to(target)

    @contextlib.contextmanager
    def running(self, planner: P) -> Iterator[P]:
        """Start ``planner`` in a thread of its own and drive it with this clock until the block
        ends, then shut it down (waiting for its transfers) and check ``start()`` returned.

        Immediate transfers happen before the block begins, at the current simulated time.
        """
        if not isinstance(planner, SteppablePlanner):
            raise TypeError(
                f"{planner!r} cannot be driven by the simulated clock: it must implement "
                "_next_due() and _run_due() (see databay.testing.clock.SteppablePlanner)"
            )
        thread = threading.Thread(target=planner.start, name=f"databay-clock-{planner!r}", daemon=True)
        thread.start()
        while planner.state is not State.RUNNING and thread.is_alive():  # waiting, not asserting
            time.sleep(0.001)
        services: frozenset[asyncio.Task[Any]] = frozenset()
        if planner.state is State.RUNNING:  # _start_planner has run once the loop answers
            services = planner._runtime.call(lambda: planner._runtime.tasks)
        self._services[planner] = services
        self._planners.append(planner)
        try:
            yield planner
        finally:
            self._planners.remove(planner)
            del self._services[planner]
            planner.shutdown(wait=True)
            thread.join(30)
            if thread.is_alive():
                raise RuntimeError(f"{planner!r}: start() did not return after shutdown")

    def _running(self) -> list[BasePlanner]:
        return [planner for planner in self._planners if planner.state is State.RUNNING]

    def _next_due(self) -> datetime.datetime | None:
        times = []
        for planner in self._running():
            due = planner._runtime.call(planner._next_due)  # type: ignore[attr-defined]
            if due is not None:
                times.append(due if due.tzinfo else due.astimezone())
        return min(times, default=None)


async def _step(planner: BasePlanner, services: frozenset[asyncio.Task[Any]]) -> None:
    """On the planner's loop: run what is due, then wait until every task but ``services`` has
    finished: those this step started, and any the planner's own timer started since time moved
    (the loop is given a few turns first, for schedulers that hand due jobs to tasks)."""
    runtime = planner._runtime
    planner._run_due()  # type: ignore[attr-defined]
    quiet = 0
    while quiet < 3:
        await asyncio.sleep(0)
        running = [task for task in runtime.tasks if task not in services and not task.done()]
        if running:
            await asyncio.wait(running)
            quiet = 0
        else:
            quiet += 1

