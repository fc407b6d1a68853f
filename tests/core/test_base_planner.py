import logging
import threading
import time

import pytest

from databay import BasePlanner, Link
from databay.errors import MissingLinkError

from databay_testing import CollectOutlet, FailingInlet, ListInlet, ThreadPlanner


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


def test_add_remove_purge():
    planner = ThreadPlanner()
    first, second = Link([], [], 1), Link([], [], 1)
    planner.add_links([first, second])
    assert planner.links == [first, second] and first.job is first
    planner.remove_links(first)
    assert planner.links == [second] and first.job is None
    with pytest.raises(MissingLinkError):
        planner.remove_links(first)
    with pytest.raises(TypeError):
        planner.add_links("nope")
    with pytest.raises(ValueError):
        planner.add_links(second)
    planner.purge()
    assert planner.links == [] and second.job is None


def test_start_runs_on_start_immediate_transfer_and_schedule():
    outlet = CollectOutlet()
    link = Link(ListInlet([1]), outlet, 0.01)
    planner = ThreadPlanner(link)
    thread = threading.Thread(target=planner.start)
    thread.start()
    wait_for(lambda: len(outlet.batches) >= 3)
    planner.shutdown()
    thread.join()
    assert outlet.started == 1 and outlet.stopped == 1
    assert [str(u) for u in outlet.updates[:3]] == ["0", "1", "2"]


def test_immediate_transfer_switches():
    off_planner, on_link, off_link = CollectOutlet(), CollectOutlet(), CollectOutlet()
    ThreadPlanner(Link(ListInlet([1]), off_planner, 60), immediate_transfer=False).start()
    planner = ThreadPlanner([Link(ListInlet([1]), on_link, 60), Link(ListInlet([1]), off_link, 60, immediate_transfer=False)])
    planner.start()
    planner.shutdown()
    assert off_planner.batches == [] and len(on_link.batches) == 1 and off_link.batches == []


def test_unignored_exception_logs_and_shuts_down(caplog):
    outlet = CollectOutlet()
    planner = ThreadPlanner(Link(FailingInlet(), outlet, 0.01), immediate_transfer=False)
    with caplog.at_level(logging.ERROR, logger="databay"):
        planner.start()
        wait_for(lambda: not planner.running)
    assert "inlet broke" in caplog.text and "Raised when executing Link" in caplog.text
    assert outlet.stopped == 1


def test_ignored_exception_keeps_going(caplog):
    inlet = FailingInlet()
    calls = []
    inlet.pull = lambda update: calls.append(update) or (_ for _ in ()).throw(ValueError("again"))
    planner = ThreadPlanner(Link(inlet, CollectOutlet(), 0.01), ignore_exceptions=True)
    planner.start()
    wait_for(lambda: len(calls) >= 3)
    assert planner.running
    planner.shutdown()


def test_links_added_while_running_are_started():
    planner = ThreadPlanner()
    planner.start()
    outlet = CollectOutlet()
    planner.add_links(Link(ListInlet([1]), outlet, 0.01))
    wait_for(lambda: outlet.batches)
    planner.shutdown()
    assert outlet.started == 1 and outlet.stopped == 1


def test_force_transfer_and_shared_nodes_start_once():
    outlet = CollectOutlet()
    links = [Link(ListInlet([1]), outlet, 60), Link(ListInlet([2]), outlet, 60)]
    planner = ThreadPlanner(links, immediate_transfer=False)
    planner.start()
    planner.force_transfer()
    planner.shutdown()
    assert sorted(outlet.payloads) == [1, 2]
    assert outlet.started == 1 and outlet.stopped == 1


def test_base_planner_is_abstract_and_running_defaults_true():
    with pytest.raises(TypeError):
        BasePlanner()

    class Minimal(BasePlanner):
        def _schedule(self, link): ...
        def _unschedule(self, link): ...
        def _start_planner(self): ...
        def _shutdown_planner(self, wait=True): ...

    assert Minimal().running is True
