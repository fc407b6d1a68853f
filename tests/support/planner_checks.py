"""Behaviour every planner must show, run against each real planner by its own test folder."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from databay import Inlet, Link

from databay_testing import CollectOutlet, FailingInlet, ListInlet


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


class Background:
    """Runs ``planner.start()`` in a thread; ``stop()`` shuts it down and checks start returned."""

    def __init__(self, planner):
        self.planner = planner
        self.thread = threading.Thread(target=planner.start, daemon=True)
        self.thread.start()
        wait_for(lambda: planner.running or not self.thread.is_alive())

    def stop(self, wait: bool = True) -> None:
        if self.planner.running:
            self.planner.shutdown(wait)
        self.thread.join(10)
        assert not self.thread.is_alive(), "start() did not return after shutdown"


class SlowAsyncInlet(Inlet):
    """Awaits ``delay`` seconds per pull and remembers which threads pulled and when each finished."""

    def __init__(self, delay: float, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.delay = delay
        self.threads: set[str] = set()
        self.finished = 0

    async def pull(self, update):
        self.threads.add(threading.current_thread().name)
        await asyncio.sleep(self.delay)
        self.finished += 1
        return [update.transfer_number]


class PlannerContract:
    """Subclass as ``TestXContract`` with ``make_planner = staticmethod(XPlanner)`` (links first)."""

    make_planner: staticmethod

    def test_transfers_repeatedly_and_lifecycle(self) -> None:
        make_planner, interval = self.make_planner, 0.05
        outlet = CollectOutlet()
        planner = make_planner(Link(ListInlet([1]), outlet, interval))
        background = Background(planner)
        wait_for(lambda: len(outlet.batches) >= 3)
        background.stop()
        assert outlet.started == 1 and outlet.stopped == 1
        assert [u.transfer_number for u in outlet.updates[:3]] == [0, 1, 2]


    def test_shutdown_waits_for_running_transfer(self) -> None:
        make_planner = self.make_planner
        inlet = SlowAsyncInlet(delay=0.3)
        planner = make_planner(Link(inlet, CollectOutlet(), 60))
        background = Background(planner)
        wait_for(lambda: inlet.threads)  # the immediate transfer is under way
        background.stop(wait=True)
        assert inlet.finished == 1


    def test_immediate_transfer(self) -> None:
        make_planner = self.make_planner
        planner_off, link_on, link_off = CollectOutlet(), CollectOutlet(), CollectOutlet()
        background = Background(make_planner(Link(ListInlet([1]), planner_off, 60), immediate_transfer=False))
        background.stop()
        planner = make_planner([Link(ListInlet([1]), link_on, 60), Link(ListInlet([1]), link_off, 60, immediate_transfer=False)])
        background = Background(planner)
        wait_for(lambda: link_on.batches)
        background.stop()
        assert planner_off.batches == [] and len(link_on.batches) == 1 and link_off.batches == []


    def test_unignored_exception_stops_planner(self, caplog) -> None:
        make_planner = self.make_planner
        outlet = CollectOutlet()
        with caplog.at_level(logging.ERROR, logger="databay"):
            background = Background(make_planner(Link(FailingInlet(), outlet, 0.05)))
            background.thread.join(10)
            assert not background.thread.is_alive(), "start() kept running after an unignored exception"
        assert "inlet broke" in caplog.text
        wait_for(lambda: outlet.stopped == 1)  # on_shutdown runs on the thread that hit the error


    def test_ignored_exceptions_keep_going(self, caplog) -> None:
        make_planner = self.make_planner
        good = CollectOutlet()
        planner = make_planner([Link(FailingInlet(), CollectOutlet(), 0.05), Link(ListInlet([1]), good, 0.05)], ignore_exceptions=True)
        background = Background(planner)
        wait_for(lambda: len(good.batches) >= 3)
        assert planner.running
        background.stop()
        assert "inlet broke" in caplog.text


    def test_links_added_and_removed_while_running(self) -> None:
        make_planner = self.make_planner
        planner = make_planner(Link(ListInlet([0]), CollectOutlet(), 60))
        background = Background(planner)
        outlet = CollectOutlet()
        link = Link(ListInlet([1]), outlet, 0.05)
        planner.add_links(link)
        wait_for(lambda: len(outlet.batches) >= 2)
        planner.remove_links(link)
        assert link.job is None and link not in planner.links
        seen = len(outlet.batches)
        time.sleep(0.3)  # a removed link must stay quiet: nothing to poll for
        assert len(outlet.batches) <= seen + 1
        background.stop()
        assert outlet.started == 1


    def test_force_transfer_and_purge(self) -> None:
        make_planner = self.make_planner
        outlet = CollectOutlet()
        planner = make_planner(Link(ListInlet([1]), outlet, 60), immediate_transfer=False)
        planner.force_transfer()
        assert outlet.payloads == [1]
        planner.purge()
        assert planner.links == []
