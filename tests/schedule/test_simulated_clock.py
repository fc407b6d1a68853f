"""The simulated clock driving SchedulePlanner, whose own ticker still wakes in real time."""

from __future__ import annotations

import asyncio
import datetime
import time

import pytest

from databay import Link, Outlet
from databay_schedule import SchedulePlanner

from databay_testing import ListInlet

pytest.importorskip("time_machine")

from databay.testing.clock import SimulatedClock  # noqa: E402 (needs time-machine)

REFRESH = 0.005
PUSH = 0.06


class SlowOutlet(Outlet):
    """An async outlet whose push takes real time, as a real one's does."""

    def __init__(self) -> None:
        super().__init__()
        self.pushed = 0

    async def push(self, records, update):
        await asyncio.sleep(PUSH)
        self.pushed += len(records)


class PreemptedClock(SimulatedClock):
    """The test thread descheduled right after each move of time, as on a loaded machine: the
    planner's ticker (every REFRESH s of real time) then finds the transfer due before the clock's
    own step does."""

    def __enter__(self) -> PreemptedClock:
        super().__enter__()
        move_to = self._traveller.move_to

        def preempted(destination: datetime.datetime) -> None:
            move_to(destination)
            time.sleep(4 * REFRESH)  # longer than a tick, shorter than the push

        self._traveller.move_to = preempted  # type: ignore[method-assign]
        return self


def test_advance_waits_for_a_transfer_the_planners_own_ticker_started():
    outlet = SlowOutlet()
    planner = SchedulePlanner(
        Link(ListInlet([1]), outlet, datetime.timedelta(minutes=5)), immediate_transfer=False, refresh_interval=REFRESH
    )
    finished_when_advance_returned = []
    with PreemptedClock() as clock, clock.running(planner):
        for _ in range(20):
            clock.advance(datetime.timedelta(minutes=5))
            finished_when_advance_returned.append(outlet.pushed)
    assert finished_when_advance_returned == list(range(1, 21))
