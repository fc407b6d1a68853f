"""Observer hooks: a plugin registered on the real plugin manager hears of every transfer, with
per-node record counts and errors, and of retries, rejections and spills under a Delivery; a
raising observer is logged once and harms no transfer."""

import asyncio
import logging

import pytest

from databay import Delivery, Link, Outlet, RejectedRecords, hookimpl
from databay.plugins import get_plugin_manager

from databay_testing import AsyncCollectOutlet, AsyncListInlet, CollectOutlet, FailingInlet, ListInlet

NO_WAIT = (0.0, 0.0)


class Recorder:
    """An observer plugin keeping what it is told (results are read during the call, as documented)."""

    def __init__(self):
        self.events = []

    @hookimpl
    def transfer_started(self, link, update):
        self.events.append(("started", link, update.transfer_number))

    @hookimpl
    def transfer_finished(self, link, update, result):
        self.events.append((
            "finished", link, update.transfer_number, dict(result.pulled), dict(result.pushed), result.duration,
            result.error, list(result.failures), dict(result.spilled), result.ok,
        ))

    @hookimpl
    def delivery_retry(self, link, update, outlet, attempt, error, wait):
        self.events.append(("retry", outlet, attempt, error, wait))

    @hookimpl
    def records_rejected(self, link, update, outlet, rejected):
        self.events.append(("rejected", outlet, [record.payload for record, _ in rejected]))

    @hookimpl
    def records_spilled(self, link, update, outlet, count):
        self.events.append(("spilled", outlet, count))

    def of(self, kind):
        return [event for event in self.events if event[0] == kind]


@pytest.fixture
def observed():
    recorder = Recorder()
    manager = get_plugin_manager()
    manager.register(recorder, name="test-recorder")
    yield recorder
    manager.unregister(recorder)


def test_started_and_finished_carry_records_per_node(observed):
    two, three = ListInlet([1, 2]), ListInlet([3, 4, 5])
    first, second = CollectOutlet(), CollectOutlet()
    link = Link([two, three], [first, second], 1, tags="counts")
    link.transfer()
    link.transfer()
    assert [event[:3] for event in observed.events] == [
        ("started", link, 0), ("finished", link, 0), ("started", link, 1), ("finished", link, 1),
    ]
    _, _, _, pulled, pushed, duration, error, failures, spilled, ok = observed.events[-1]
    assert pulled == {two: 2, three: 3} and pushed == {first: 5, second: 5}
    assert duration > 0 and error is None and failures == [] and spilled == {} and ok


def test_async_nodes_are_counted_the_same(observed):
    inlet, outlet = AsyncListInlet([1, 2, 3]), AsyncCollectOutlet()
    asyncio.run(Link(inlet, outlet, 1).transfer_async())
    (_, _, _, pulled, pushed, *_), = observed.of("finished")
    assert pulled == {inlet: 3} and pushed == {outlet: 3}


def test_an_ignored_failure_is_reported_and_the_rest_counted(observed):
    broken, fine, outlet = FailingInlet(), ListInlet([1]), CollectOutlet()
    Link([broken, fine], outlet, 1, ignore_exceptions=True).transfer()
    (_, _, _, pulled, pushed, _, error, failures, _, ok), = observed.of("finished")
    assert pulled == {fine: 1} and pushed == {outlet: 1}  # the failed inlet is absent
    assert error is None and [str(failure) for failure in failures] == ["inlet broke"] and not ok


def test_a_raised_failure_is_the_result_error(observed):
    with pytest.raises(ValueError, match="inlet broke"):
        Link(FailingInlet(), CollectOutlet(), 1).transfer()
    (_, _, _, pulled, pushed, _, error, _, _, ok), = observed.of("finished")
    assert isinstance(error, ValueError) and pulled == {} and pushed == {} and not ok


def test_retries_and_spills_under_a_delivery(observed):
    class Down(Outlet):
        def push(self, records, update):
            raise ConnectionError("server down")

    outlet = Down()
    Link(ListInlet([1, 2]), outlet, 1, delivery=Delivery(retries=2, backoff=NO_WAIT)).transfer()
    assert [(attempt, str(error)) for _, _, attempt, error, _ in observed.of("retry")] == [
        (1, "server down"), (2, "server down"),
    ]
    assert observed.of("spilled") == [("spilled", outlet, 2)]
    (_, _, _, _, pushed, _, error, failures, spilled, ok), = observed.of("finished")
    assert pushed == {} and spilled == {outlet: 2} and error is None and not ok
    assert [str(failure) for failure in failures] == ["server down"]


def test_rejections_with_and_without_a_delivery(observed):
    class Picky(CollectOutlet):
        def push(self, records, update):
            super().push([r for r in records if r.payload != "bad"], update)
            raise RejectedRecords([(r, ValueError("cannot encode")) for r in records if r.payload == "bad"])

    picky, dead = Picky(), CollectOutlet()
    Link(ListInlet(["ok", "bad", "ok"]), picky, 1, delivery=Delivery(dead_letter=dead)).transfer()
    assert observed.of("rejected") == [("rejected", picky, ["bad"])]
    assert observed.of("finished")[0][4] == {picky: 2}

    alone = Picky()
    Link(ListInlet(["bad", "ok"]), alone, 1, ignore_exceptions=True).transfer()
    assert observed.of("rejected")[-1] == ("rejected", alone, ["bad"])
    assert observed.of("finished")[-1][4] == {alone: 1}


def test_a_raising_observer_is_logged_once_and_transfers_go_on(observed, caplog):
    class Broken:
        @hookimpl
        def transfer_finished(self, result):  # a subset of the arguments is fine
            raise RuntimeError("observer broke at https://user:hunter2@metrics.example/push")

    broken = Broken()
    get_plugin_manager().register(broken, name="test-broken-observer")
    try:
        outlet = CollectOutlet()
        link = Link(ListInlet([1]), outlet, 1)
        with caplog.at_level(logging.ERROR, logger="databay"):
            for _ in range(3):
                link.transfer()
    finally:
        get_plugin_manager().unregister(broken)
    assert outlet.payloads == [1, 1, 1] and len(observed.of("finished")) == 3
    reports = [record.getMessage() for record in caplog.records if "test-broken-observer" in record.getMessage()]
    assert len(reports) == 1 and "transfer_finished" in reports[0] and "RuntimeError" in reports[0]
    assert "hunter2" not in caplog.text


def test_observers_registered_later_are_heard_and_unregistered_ones_no_more():
    link = Link(ListInlet([1]), CollectOutlet(), 1)
    link.transfer()
    recorder = Recorder()
    get_plugin_manager().register(recorder, name="test-late-recorder")
    link.transfer()
    get_plugin_manager().unregister(recorder)
    link.transfer()
    assert [event[:3] for event in recorder.events] == [("started", link, 1), ("finished", link, 1)]
