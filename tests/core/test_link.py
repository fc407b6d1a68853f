import asyncio
import datetime
import logging

import pytest

from databay import Inlet, Link, Record, Update
from databay.errors import InvalidNodeError
from databay.support.buffers import Buffer

from databay_testing import (
    AsyncCollectOutlet,
    AsyncListInlet,
    CollectOutlet,
    FailingInlet,
    FailingOutlet,
    ListInlet,
    track_concurrency,
)


def test_interval_accepts_timedelta_and_seconds():
    assert Link([], [], datetime.timedelta(seconds=5)).interval == datetime.timedelta(seconds=5)
    assert Link([], [], 2.5).interval == datetime.timedelta(seconds=2.5)


@pytest.mark.parametrize("interval", [-1, "5", None])
def test_bad_interval_is_rejected(interval):
    with pytest.raises((TypeError, ValueError), match="interval"):
        Link([], [], interval)


def test_tags_and_update_strings():
    outlet = CollectOutlet()
    link = Link(ListInlet([1]), outlet, 1, tags=["a", "b"])
    link.transfer()
    link.transfer()
    assert [str(u) for u in outlet.updates] == ["a.b.0", "a.b.1"]
    assert Link([], [], 1, tags="solo").tags == ["solo"]
    assert str(Update([], 7)) == "7"


def test_add_and_remove_nodes():
    inlet, outlet = ListInlet([1]), CollectOutlet()
    link = Link([], [], 1)
    link.add_inlets(inlet)
    link.add_outlets([outlet])
    assert link.inlets == [inlet] and link.outlets == [outlet]
    with pytest.raises(InvalidNodeError):
        link.add_inlets(inlet)
    with pytest.raises(InvalidNodeError):
        link.add_outlets(outlet)
    with pytest.raises(TypeError):
        link.add_inlets("not an inlet")
    with pytest.raises(TypeError):
        link.add_outlets(object())
    link.remove_inlets(inlet)
    link.remove_outlets([outlet])
    assert link.inlets == [] and link.outlets == []
    with pytest.raises(InvalidNodeError):
        link.remove_inlets(inlet)
    with pytest.raises(InvalidNodeError):
        link.remove_outlets(outlet)


def test_job():
    link = Link([], [], 1)
    assert link.job is None
    link.set_job("job")
    assert link.job == "job"


def test_processors_run_in_order():
    def only_large_numbers(records):
        return [r for r in records if r.payload >= 100]

    def round_to_integers(records):
        for record in records:
            record.payload = round(record.payload)
        return records

    outlet = CollectOutlet()
    Link(ListInlet([99.999, 200, 333.333]), outlet, 1, processors=[only_large_numbers, round_to_integers]).transfer()
    assert outlet.payloads == [200, 333]

    outlet = CollectOutlet()
    Link(ListInlet([99.999, 200, 333.333]), outlet, 1, processors=[round_to_integers, only_large_numbers]).transfer()
    assert outlet.payloads == [100, 200, 333]


def test_groupers_feed_batches_one_by_one():
    def pairs(batches):
        return [batch[i : i + 2] for batch in batches for i in range(0, len(batch), 2)]

    def first_grouper_sees_one_batch(batches):
        assert len(batches) == 1
        return batches

    outlet = CollectOutlet()
    Link(ListInlet(list(range(6))), outlet, 1, groupers=[first_grouper_sees_one_batch, pairs]).transfer()
    assert [[r.payload for r in batch] for batch in outlet.batches] == [[0, 1], [2, 3], [4, 5]]


def test_grouper_returning_nothing_is_named():
    def forgot_to_return(batches):
        pass

    link = Link(ListInlet([1]), CollectOutlet(), 1, groupers=forgot_to_return)
    with pytest.raises(TypeError, match="forgot_to_return.*returned NoneType"):
        link.transfer()


def test_copies_isolate_outlets_and_inlet():
    payload = {"nested": [1, 2]}
    inlet = ListInlet([payload])
    first, second = CollectOutlet(), CollectOutlet()
    Link(inlet, [first, second], 1).transfer()
    first.batches[0][0].payload["nested"].append(3)
    first.batches[0][0].metadata["x"] = 1
    assert second.batches[0][0].payload == {"nested": [1, 2]}
    assert "x" not in second.batches[0][0].metadata
    assert payload == {"nested": [1, 2]}


def test_copy_falls_back_for_custom_and_cyclic_payloads():
    class Box:
        def __init__(self):
            self.items = [1]

    cyclic: list = []
    cyclic.append(cyclic)
    box = Box()
    outlet = CollectOutlet()
    Link(ListInlet([box, (cyclic,)]), outlet, 1).transfer()
    copied_box, copied_cycle = outlet.payloads
    assert copied_box is not box and copied_box.items == [1]
    assert copied_cycle[0][0] is copied_cycle[0]


def test_no_copies_share_records():
    first, second = CollectOutlet(), CollectOutlet()
    Link(ListInlet([{"a": 1}]), [first, second], 1, copy_records=False).transfer()
    assert first.batches[0][0] is second.batches[0][0]


def test_outlet_processors_see_their_own_copy():
    def tag(records):
        for record in records:
            record.payload = record.payload * 10
        return records

    plain, processed = CollectOutlet(), CollectOutlet(processors=tag)
    Link(ListInlet([1, 2]), [plain, processed], 1).transfer()
    assert plain.payloads == [1, 2]
    assert processed.payloads == [10, 20]


def test_exceptions_raise_naming_node_and_link():
    link = Link(FailingInlet(), CollectOutlet(), 1, tags="broken")
    with pytest.raises(ValueError, match="inlet broke") as info:
        link.transfer()
    assert any("FailingInlet" in note and "broken" in note for note in info.value.__notes__)


def test_ignore_exceptions_logs_and_completes(caplog):
    outlet = CollectOutlet()

    def bad_processor(records):
        raise KeyError("processor broke")

    link = Link(
        [FailingInlet(), ListInlet([1])], [FailingOutlet(), outlet], 1, ignore_exceptions=True, processors=bad_processor
    )
    with caplog.at_level(logging.ERROR, logger="databay"):
        link.transfer()
    assert outlet.payloads == [1]
    messages = caplog.text
    assert "Inlet exception" in messages and "Outlet exception" in messages and "Processor exception" in messages


def test_deprecated_parameters_warn():
    with pytest.warns(DeprecationWarning):
        link = Link([], [], 1, name="old")
    assert link.tags == ["old"]
    with pytest.warns(DeprecationWarning):
        link = Link([], [], 1, catch_exceptions=True)
    assert link.ignore_exceptions


def test_async_inlets_run_concurrently_and_keep_order():
    inlets = [AsyncListInlet([i], delay=0.05) for i in range(4)]
    outlet = AsyncCollectOutlet()
    link = Link(inlets + [ListInlet(["sync"])], outlet, 1)
    link.transfer()
    assert outlet.payloads == [0, 1, 2, 3, "sync"]


def test_inlet_concurrency_throttles():
    inlets = [AsyncListInlet([1], delay=0.01) for _ in range(6)]
    running: dict = {}
    for inlet in inlets:
        track_concurrency(inlet, running)
    Link(inlets, CollectOutlet(), 1, inlet_concurrency=2).transfer()
    assert running["max"] == 2


def test_transfer_inside_running_loop():
    outlet = CollectOutlet()
    link = Link(AsyncListInlet([1, 2]), outlet, 1)

    async def main():
        link.transfer()
        await link.transfer_async()

    asyncio.run(main())
    assert outlet.payloads == [1, 2, 1, 2]


def test_sync_link_needs_no_event_loop(monkeypatch):
    import asyncio

    def no_loop(*args, **kwargs):
        raise AssertionError("a sync link started an event loop")

    monkeypatch.setattr(asyncio, "run", no_loop)
    monkeypatch.setattr(asyncio, "new_event_loop", no_loop)
    outlet = CollectOutlet()
    Link(ListInlet([1]), outlet, 1).transfer()
    assert outlet.payloads == [1]


def test_zero_interval_is_accepted_as_in_databay_0_3():
    assert Link([], [], 0).interval == datetime.timedelta(0)


def test_buffer_as_processor():
    buffer = Buffer(count_threshold=10)
    inlet, outlet = ListInlet([1, 2, 3, 4]), CollectOutlet()
    link = Link(inlet, outlet, 1, processors=buffer)
    link.transfer()
    link.transfer()
    assert outlet.payloads == []
    inlet.data = [5, 6, 7]
    link.transfer()
    assert outlet.payloads == [1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7]


def test_repr():
    link = Link(ListInlet([]), CollectOutlet(), datetime.timedelta(seconds=5), tags="http_to_mongo")
    assert repr(link) == "Link(tags:['http_to_mongo'], inlets:[ListInlet(metadata:{})], outlets:[CollectOutlet()], interval:0:00:05)"


def test_records_are_records():
    outlet = CollectOutlet()
    Link(ListInlet([1]), outlet, 1).transfer()
    assert isinstance(outlet.batches[0][0], Record)


def test_blocking_sync_outlets_leave_the_event_loop_free():
    import threading

    class Recording(CollectOutlet):
        def push(self, records, update):
            self.thread = threading.current_thread()
            super().push(records, update)

    class BlockingRecording(Recording):
        blocking = True

    inline, offloaded = Recording(), BlockingRecording()

    async def main():
        await Link(AsyncListInlet([1]), [inline, offloaded], 1).transfer_async()
        return threading.current_thread()

    loop_thread = asyncio.run(main())
    assert inline.thread is loop_thread and offloaded.thread is not loop_thread
    assert inline.payloads == offloaded.payloads == [1]


def test_a_failing_blocking_transfer_carries_no_event_loop_context():
    class Broken(Inlet):
        async def pull(self, update):
            raise ValueError("broken")

    try:
        Link(Broken(), CollectOutlet(), 1).transfer()
    except ValueError as error:
        assert error.__context__ is None and error.__cause__ is None
    else:
        raise AssertionError("the failure was swallowed")
