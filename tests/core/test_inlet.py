import threading

from databay import Inlet, Link, Record

from databay_testing import CollectOutlet, ListInlet


def transfer(inlet):
    outlet = CollectOutlet()
    Link(inlet, outlet, interval=1, copy_records=False).transfer()
    return outlet.batches[0]


def test_list_becomes_one_record_per_element():
    assert [r.payload for r in transfer(ListInlet([1, 2, 3]))] == [1, 2, 3]


def test_non_list_values_become_one_record():
    for value in [(1, 2), {1, 2}, {"a": 1}, 5, "text", None]:
        records = transfer(ListInlet(value))
        assert [r.payload for r in records] == [value]


def test_nested_list_is_one_record():
    assert [r.payload for r in transfer(ListInlet([[1, 2]]))] == [[1, 2]]


def test_empty_list_produces_no_records():
    assert transfer(ListInlet([])) == []


def test_records_pass_through():
    class RecordInlet(Inlet):
        def pull(self, update):
            return [self.new_record(1, {"local": "a"}), self.new_record(2)]

    records = transfer(RecordInlet(metadata={"global": "g"}))
    assert [r.payload for r in records] == [1, 2]
    assert records[0].metadata["local"] == "a"
    assert records[1].metadata["global"] == "g"


def test_single_record_passes_through():
    class OneRecord(Inlet):
        def pull(self, update):
            return self.new_record([1, 2])

    assert [r.payload for r in transfer(OneRecord())] == [[1, 2]]


def test_new_record_merges_metadata_and_names_inlet():
    inlet = ListInlet([], metadata={"a": 1, "b": 2})
    record = inlet.new_record("p", metadata={"b": 3})
    assert record.metadata == {"a": 1, "b": 3, "__inlet__": repr(inlet)}
    assert inlet.metadata == {"a": 1, "b": 2}


def test_inlet_metadata_never_mutated():
    metadata = {"a": 1}
    inlet = ListInlet([1, 2], metadata=metadata)
    records = transfer(inlet)
    records[0].metadata["a"] = "changed"
    assert metadata == {"a": 1}
    assert records[1].metadata["a"] == 1
    assert records[0].metadata["__inlet__"] == "ListInlet(metadata:{'a': 1})"


def test_on_start_once_per_instance_across_threads():
    calls = []

    class Counting(Inlet):
        def pull(self, update):
            return []

        def on_start(self):
            calls.append("start")

        def on_shutdown(self):
            calls.append("stop")

    inlet = Counting()
    barrier = threading.Barrier(8)

    def start():
        barrier.wait()
        inlet.try_start()

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert inlet.active
    inlet.try_shutdown()
    inlet.try_shutdown()
    assert calls == ["start", "stop"]
    assert not inlet.active


def test_record_type():
    assert isinstance(transfer(ListInlet([1]))[0], Record)
