"""The example plugin's nodes on a real planner, in simulated time: an hour of 5-minute transfers
takes milliseconds (the ``databay_clock`` fixture from databay's pytest plugin)."""

from __future__ import annotations

import datetime

from databay_example import CountingInlet, MemoryOutlet

from databay import Link
from databay.planners import SchedulePlanner
from databay.support.buffers import Buffer

FIVE_MINUTES = datetime.timedelta(minutes=5)


def test_an_hour_of_five_minute_transfers(databay_clock):
    outlet = MemoryOutlet()
    planner = SchedulePlanner(Link(CountingInlet(count=2), outlet, FIVE_MINUTES), immediate_transfer=False)
    with databay_clock.running(planner):
        databay_clock.advance(datetime.timedelta(hours=1))
    assert outlet.payloads == list(range(24))  # 12 transfers of 2 numbers each


def test_a_buffer_holds_records_for_a_quarter_of_an_hour(databay_clock):
    outlet = MemoryOutlet(processors=Buffer(time_threshold=15 * 60))
    planner = SchedulePlanner(Link(CountingInlet(count=1), outlet, FIVE_MINUTES), immediate_transfer=True)
    released: list[tuple[datetime.datetime, int]] = []
    with databay_clock.running(planner):
        for _ in range(6):
            databay_clock.advance(FIVE_MINUTES)
            released.append((databay_clock.now(), len(outlet.payloads)))
    start = released[0][0] - FIVE_MINUTES
    # released once more than 15 minutes have passed since the first record was held: at 20 minutes,
    # with the records of minutes 0 (the immediate transfer), 5, 10, 15 and 20
    assert released == [(start + FIVE_MINUTES * step, count) for step, count in enumerate([0, 0, 0, 5, 5, 5], 1)]
