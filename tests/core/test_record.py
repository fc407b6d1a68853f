import copy
import pickle

from databay import Record
from databay.record import records_sharing


def test_payload_and_metadata():
    record = Record({"a": 1}, {"m": 2})
    assert record.payload == {"a": 1}
    assert record.metadata == {"m": 2}
    assert Record(1).metadata == {}


def test_payload_is_assignable():
    record = Record(99.999)
    record.payload = round(record.payload)
    assert record.payload == 100


def test_repr():
    assert repr(Record(1, {"k": "v"})) == "Record(payload=1, metadata={'k': 'v'})"
    assert repr(Record("test")) == "Record(payload=test, metadata={})"  # databay 0.3's %s form


def test_shared_metadata_is_private_once_read():
    base = {"k": 1}
    first, second = records_sharing([1, 2], base)
    first.metadata["k"] = 99
    assert second.metadata == {"k": 1}
    assert base == {"k": 1}


def test_records_pass_through_bulk_wrapping():
    existing = Record("x", {"own": True})
    records = records_sharing([existing, "y"], {"k": 1})
    assert records[0] is existing
    assert records[1].payload == "y"


def test_copy_and_pickle():
    record = Record([1, 2], {"m": [3]})
    for clone in (copy.deepcopy(record), pickle.loads(pickle.dumps(record))):
        assert clone.payload == [1, 2] and clone.metadata == {"m": [3]}
        assert clone.payload is not record.payload


def test_metadata_get_reads_without_copying():
    base = {"k": 1}
    record = records_sharing([1], base)[0]
    assert record.metadata_get("k") == 1 and record.metadata_get("missing", "d") == "d"
    assert record._shared and record._metadata is base
