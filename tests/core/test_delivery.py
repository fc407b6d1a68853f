"""Delivery: retries, spill and redelivery in order, per-outlet acknowledgement, back-pressure,
dead letters and checkpoints, through real links and outlets."""

import logging

import pytest

from databay import Delivery, Inlet, Link, Outlet, RejectedRecords

from databay_testing import CollectOutlet, ListInlet

NO_WAIT = (0.0, 0.0)


class Counter(Inlet):
    """Pulls 0, 1, 2, ...; keeps the next number in its checkpoint once committed."""

    def __init__(self):
        super().__init__()
        self.pending = None  # read from the checkpoint at the first pull: it is restored after __init__
        self.commits = []

    def pull(self, update):
        if self.pending is None:
            self.pending = self.checkpoint.get("next", 0)
        value = self.pending
        self.pending += 1
        return [value]

    def commit(self, update):
        self.commits.append(update.transfer_number)
        self.checkpoint = {"next": self.pending}


class FlakyOutlet(CollectOutlet):
    """Fails while ``down``; counts attempts."""

    def __init__(self, down=True):
        super().__init__()
        self.down = down
        self.attempts = 0

    def push(self, records, update):
        self.attempts += 1
        if self.down:
            raise ConnectionError("server down")
        super().push(records, update)


def test_retries_until_the_outlet_takes_the_batch(caplog):
    outlet = FlakyOutlet()

    class RecoversOnThirdTry(FlakyOutlet):
        def push(self, records, update):
            self.down = self.attempts < 2
            super().push(records, update)

    outlet = RecoversOnThirdTry()
    with caplog.at_level(logging.WARNING, logger="databay"):
        Link(ListInlet([1]), outlet, 1, tags="t", delivery=Delivery(retries=3, backoff=NO_WAIT)).transfer()
    assert outlet.payloads == [1] and outlet.attempts == 3
    assert "failed (attempt 1 of 4): ConnectionError: server down; retrying" in caplog.text
    assert "attempt 2 of 4" in caplog.text and "attempt 3 of 4" not in caplog.text


def test_spilled_batches_are_redelivered_in_order_and_each_outlet_acknowledged_once(caplog):
    flaky, healthy = FlakyOutlet(), CollectOutlet()
    link = Link(Counter(), [flaky, healthy], 1, tags="t", delivery=Delivery(retries=1, backoff=NO_WAIT))
    with caplog.at_level(logging.ERROR, logger="databay"):
        link.transfer()
        link.transfer()
    assert "did not take 1 record(s) after 2 attempt(s) (ConnectionError: server down); spilled in memory" in caplog.text
    assert link._deliverer.spilled == 2 and link.undelivered == 0
    flaky.down = False
    link.transfer()
    assert flaky.payloads == [0, 1, 2]  # the spilled ones first, in order
    assert healthy.payloads == [0, 1, 2]  # never pushed a batch twice
    assert link._deliverer.spilled == 0


def test_full_spill_stops_pulling_and_says_so(caplog):
    inlet, flaky = Counter(), FlakyOutlet()
    link = Link(inlet, flaky, 1, tags="t", delivery=Delivery(retries=0, backoff=NO_WAIT, max_spill=2))
    for _ in range(4):
        link.transfer()
    assert inlet.pending == 2  # pulled twice, then held back
    assert caplog.text.count("not pulling: 2 record(s) spilled, max_spill is 2") == 2
    flaky.down = False
    link.transfer()  # redelivers, and still does not pull in this transfer
    link.transfer()
    assert flaky.payloads == [0, 1, 2]


def test_rejected_records_go_to_the_dead_letter_and_the_rest_counts_as_delivered():
    class Picky(CollectOutlet):
        def push(self, records, update):
            good = [r for r in records if r.payload != "bad"]
            super().push(good, update)
            raise RejectedRecords([(r, ValueError("cannot encode")) for r in records if r.payload == "bad"])

    picky, dead = Picky(), CollectOutlet()
    link = Link(ListInlet(["a", "bad", "b"]), picky, 1, tags="t", delivery=Delivery(dead_letter=dead, backoff=NO_WAIT))
    link.transfer()
    assert picky.payloads == ["a", "b"] and dead.payloads == ["bad"]
    letter = dead.batches[0][0].metadata
    assert letter["__outlet__"] == "Picky()" and "ValueError: cannot encode" in letter["__error__"]
    assert "tags:['t']" in letter["__link__"]
    assert link._deliverer.spilled == 0


def test_rejected_records_without_a_dead_letter_are_logged_and_counted(caplog):
    class RejectsAll(Outlet):
        def push(self, records, update):
            raise RejectedRecords([(r, TypeError("nope")) for r in records])

    link = Link(ListInlet([1, 2]), RejectsAll(), 1, tags="t", delivery=Delivery(backoff=NO_WAIT))
    link.transfer()
    assert "rejected 2 record(s), no dead letter to keep them; first error: TypeError: nope" in caplog.text
    assert link.undelivered == 2


def test_checkpoints_commit_only_after_delivery_and_survive_in_state_dir(tmp_path):
    inlet, flaky = Counter(), FlakyOutlet()
    delivery = Delivery(retries=0, backoff=NO_WAIT, state_dir=tmp_path)
    link = Link(inlet, flaky, 1, tags="files", delivery=delivery)
    link.transfer()  # durably spilled: safe to commit
    assert inlet.commits == [0] and inlet.checkpoint == {"next": 1}
    flaky.down = False
    link.transfer()
    assert flaky.payloads == [0, 1] and inlet.checkpoint == {"next": 2}

    with pytest.raises(RuntimeError, match="in use by another process or link"):
        Link(Counter(), CollectOutlet(), 1, tags="files", delivery=delivery)  # while this run lives
    del link  # this run is over
    again = Counter()
    Link(again, CollectOutlet(), 1, tags="files", delivery=delivery)
    assert again.checkpoint == {"next": 2}  # restored before on_start


def test_memory_spill_holds_back_commits():
    inlet, flaky = Counter(), FlakyOutlet()
    link = Link(inlet, flaky, 1, tags="t", delivery=Delivery(retries=0, backoff=NO_WAIT))
    link.transfer()
    assert inlet.commits == []  # only in memory: a crash would lose it
    flaky.down = False
    link.transfer()
    assert inlet.commits == [1] and inlet.checkpoint == {"next": 2}


def test_durable_spill_is_redelivered_by_the_next_link_of_the_same_name(tmp_path):
    delivery = Delivery(retries=0, backoff=NO_WAIT, state_dir=tmp_path)
    Link(ListInlet([1, 2]), FlakyOutlet(), 1, tags="job", delivery=delivery).transfer()
    recovered = FlakyOutlet(down=False)  # the same outlet, as the next run builds it
    Link(ListInlet([3]), recovered, 1, tags="job", delivery=delivery).transfer()
    assert recovered.payloads == [1, 2, 3]


def test_state_dir_needs_tags(tmp_path):
    with pytest.raises(ValueError, match="needs tags"):
        Link(ListInlet([1]), CollectOutlet(), 1, delivery=Delivery(state_dir=tmp_path))


def test_without_delivery_a_failing_push_says_how_many_records_were_not_delivered(caplog):
    link = Link(ListInlet([1, 2, 3]), FlakyOutlet(), 1, ignore_exceptions=True)
    link.transfer()
    assert "3 record(s) not delivered" in caplog.text and link.undelivered == 3


@pytest.mark.parametrize("options", [{"retries": -1}, {"backoff": (2, 1)}, {"max_spill": 0}])
def test_bad_delivery_settings_are_refused(options):
    with pytest.raises(ValueError, match="Delivery"):
        Delivery(**options)


def _run_briefly(planner, until):
    import threading
    import time

    thread = threading.Thread(target=planner.start, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not until():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)
    planner.shutdown()
    thread.join(10)
    assert not thread.is_alive()


def test_shutdown_flushes_buffers_by_default():
    from databay.support.buffers import Buffer

    from databay_testing import ThreadPlanner

    outlet = CollectOutlet()
    link = Link(ListInlet([1]), outlet, 60, processors=Buffer(count_threshold=100))
    planner = ThreadPlanner(link)
    _run_briefly(planner, lambda: link.inlets[0].pulls == 1)
    assert outlet.payloads == [1]  # released at shutdown, not lost in the buffer


def test_a_stop_says_what_it_leaves_spilled_and_counts_memory_spill_as_lost(caplog, tmp_path):
    from databay_testing import ThreadPlanner

    memory = Link(ListInlet([1]), FlakyOutlet(), 60, tags="m", delivery=Delivery(retries=0, backoff=NO_WAIT))
    disk = Link(
        ListInlet([1, 2]), FlakyOutlet(), 60, tags="d", delivery=Delivery(retries=0, backoff=NO_WAIT, state_dir=tmp_path)
    )
    planner = ThreadPlanner([memory, disk])
    with caplog.at_level(logging.WARNING, logger="databay"):
        _run_briefly(planner, lambda: memory._deliverer.spilled and disk._deliverer.spilled)
    assert "stopped with 1 record(s) spilled in memory only: they are lost" in caplog.text
    assert "stopped with 2 record(s) spilled to disk: the next run delivers them first" in caplog.text
    assert planner.lost_records == 1


def test_the_exception_that_stopped_a_planner_is_kept():
    from databay_testing import FailingInlet, ThreadPlanner

    planner = ThreadPlanner(Link(FailingInlet(), CollectOutlet(), 60))
    planner.start()  # returns, as in 0.3
    assert isinstance(planner.exception, ValueError) and "inlet broke" in str(planner.exception)


def test_transfers_side_by_side_take_turns_per_outlet_and_commit_only_when_none_is_in_flight():
    import asyncio

    inlet = Counter()

    class SlowFirst(Outlet):
        def __init__(self):
            super().__init__()
            self.release = None

        async def push(self, records, update):
            if update.transfer_number == 0:
                await self.release.wait()

    outlet = SlowFirst()
    link = Link(inlet, outlet, 1, tags="t", delivery=Delivery(backoff=NO_WAIT))

    async def overlapping():
        outlet.release = asyncio.Event()
        first = asyncio.create_task(link.transfer_async())
        second = asyncio.create_task(link.transfer_async())  # waits for the outlet: one delivery at a time
        for _ in range(5):
            await asyncio.sleep(0)
        assert not second.done() and inlet.commits == []
        outlet.release.set()
        await first
        await second

    asyncio.run(overlapping())
    assert inlet.commits == [1] and inlet.checkpoint == {"next": 2}


def test_without_delivery_rejected_records_count_only_the_rejected_ones(caplog):
    class RejectsOne(Outlet):
        def push(self, records, update):
            raise RejectedRecords([(records[0], ValueError("bad"))])

    link = Link(ListInlet([1, 2, 3]), RejectsOne(), 1, ignore_exceptions=True)
    link.transfer()
    assert link.undelivered == 1 and "1 record(s) not delivered" in caplog.text


def test_a_push_cancelled_by_shutdown_is_spilled_not_lost(tmp_path):
    import asyncio

    class Hangs(Outlet):
        async def push(self, records, update):
            await asyncio.Event().wait()

    link = Link(ListInlet([1, 2]), Hangs(), 1, tags="t", delivery=Delivery(state_dir=tmp_path, backoff=NO_WAIT))

    async def cancelled():
        transfer = asyncio.create_task(link.transfer_async())
        await asyncio.sleep(0.05)
        transfer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await transfer

    asyncio.run(cancelled())
    assert link._deliverer.spilled == 2 and link.undelivered == 0


def test_a_batch_that_cannot_be_spilled_is_counted_lost_and_other_outlets_still_get_it(tmp_path, caplog):
    healthy = CollectOutlet()
    link = Link(
        ListInlet([lambda: None]), [FlakyOutlet(), healthy], 1, tags="t", copy_records=False,
        delivery=Delivery(retries=0, backoff=NO_WAIT, state_dir=tmp_path),
    )
    link.transfer()
    assert link.undelivered == 1 and len(healthy.payloads) == 1
    assert "spilling them failed" in caplog.text


def test_records_held_by_a_buffer_hold_back_commits(tmp_path):
    from databay.support.buffers import Buffer

    inlet = Counter()
    link = Link(inlet, CollectOutlet(), 1, tags="t", processors=Buffer(count_threshold=10),
                delivery=Delivery(state_dir=tmp_path, backoff=NO_WAIT))
    link.transfer()
    link.transfer()
    assert inlet.commits == [] and link._lost_at_exit() == 2


def test_after_a_failed_transfer_the_link_commits_no_more(caplog):
    inlet, calls = Counter(), []

    def fails_once(records):
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("bad line")
        return records

    link = Link(inlet, CollectOutlet(), 1, tags="t", processors=fails_once, delivery=Delivery(backoff=NO_WAIT))
    with pytest.raises(ValueError):
        link.transfer()
    link.transfer()
    assert inlet.commits == []  # committing now would skip the dropped record for good
    assert link.undelivered == 1
    assert "commits no checkpoint until it is built again" in caplog.text


def test_a_slow_sync_outlet_under_delivery_does_not_hold_up_other_links():
    import threading
    import time

    from databay_testing import ThreadPlanner

    pushing, release = threading.Event(), threading.Event()

    class Slow(Outlet):
        def push(self, records, update):
            pushing.set()
            release.wait(10)  # the slow server

    other = CollectOutlet()
    planner = ThreadPlanner([
        Link(ListInlet([1]), Slow(), 0.02, tags="slow", immediate_transfer=False, delivery=Delivery(backoff=NO_WAIT)),
        Link(ListInlet([2]), other, 0.02, immediate_transfer=False),
    ])
    thread = threading.Thread(target=planner.start, daemon=True)
    thread.start()
    assert pushing.wait(10)
    deadline = time.monotonic() + 10
    while len(other.batches) < 3:  # the other link keeps transferring while the push hangs
        assert time.monotonic() < deadline, "the other link was held up"
        time.sleep(0.01)
    release.set()
    planner.shutdown()
    thread.join(10)


def test_the_flush_at_stop_is_bounded_by_the_shutdown_timeout(tmp_path):
    import asyncio
    import threading
    import time

    from databay.support.buffers import Buffer

    from databay_testing import ThreadPlanner

    class HangsOnFlush(Outlet):
        async def push(self, records, update):
            if records:
                await asyncio.Event().wait()  # a server that never answers

    link = Link(ListInlet([1]), HangsOnFlush(), 60, tags="f", processors=Buffer(count_threshold=100),
                delivery=Delivery(state_dir=tmp_path, backoff=NO_WAIT))
    planner = ThreadPlanner(link)
    thread = threading.Thread(target=planner.start, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while link.inlets[0].pulls < 1:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    planner.shutdown(timeout=0.2)
    thread.join(5)
    assert not thread.is_alive(), "a hung flush held the stop past its timeout"
    assert link._deliverer.spilled == 1  # the flushed record was spilled, not lost
