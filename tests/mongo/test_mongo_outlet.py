import logging
import socket

import pymongo
import pytest
from pymongo import monitoring

from databay import Link, Record, RejectedRecords
from databay.misc import outlet_tester
from databay_mongo import MongoOutlet, MongoOutletError

from databay_testing import ListInlet, listed_plugin
from mongo_server import mongodb_uri


def write(outlet, payloads, metadata=None, copy_records=True):
    outlet.try_start()
    try:
        Link(ListInlet(payloads, metadata=metadata), outlet, 1, copy_records=copy_records).transfer()
    finally:
        outlet.try_shutdown()


def stored(db, collection="default_collection"):
    return sorted(db[collection].find({}, {"_id": 0}), key=lambda d: d.get("n", 0))


def test_writes_documents(mongo_uri, database):
    name, db = database
    write(MongoOutlet(name, uri=mongo_uri), [{"n": 1}, {"n": 2}])
    assert stored(db) == [{"n": 1}, {"n": 2}]


def test_list_payload_expands_and_metadata_picks_collection(mongo_uri, database):
    name, db = database
    outlet = MongoOutlet(name, "main", uri=mongo_uri)
    write(outlet, [[{"n": 1}, {"n": 2}]])
    write(outlet, [{"n": 3}], metadata={MongoOutlet.MONGODB_COLLECTION: "other"})
    assert stored(db, "main") == [{"n": 1}, {"n": 2}] and stored(db, "other") == [{"n": 3}]


class InsertCounter(monitoring.CommandListener):
    def __init__(self):
        self.inserts = []

    def started(self, event):
        if event.command_name == "insert":
            self.inserts.append(event.command["insert"])

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def test_one_bulk_insert_per_collection(mongo_uri, database):
    name, _ = database
    counter = InsertCounter()
    monitoring.register(counter)
    records = [Record({"n": i}, {MongoOutlet.MONGODB_COLLECTION: "a" if i % 2 else "b"}) for i in range(10)]
    write(MongoOutlet(name, uri=mongo_uri), records)
    assert sorted(counter.inserts) == ["a", "b"]


def test_callers_records_are_not_mutated(mongo_uri, database):
    name, db = database
    payloads = [{"n": 1}, {"n": 2}]
    records = [Record(p) for p in payloads]
    outlet = MongoOutlet(name, uri=mongo_uri)
    outlet.try_start()
    outlet.push(records, "0")
    outlet.try_shutdown()
    assert payloads == [{"n": 1}, {"n": 2}] and len(stored(db)) == 2


def test_push_before_start_connects_instead_of_dropping(mongo_uri, database):
    name, db = database
    outlet = MongoOutlet(name, uri=mongo_uri)
    outlet.push([Record({"n": 1})], "0")
    outlet.disconnect()
    assert stored(db) == [{"n": 1}]


def test_non_document_payload_is_a_clear_error_and_rejected_alone(mongo_uri, database):
    name, db = database
    with pytest.raises(
        RejectedRecords, match="MongoOutlet.*wrote 1 record.*dict payloads as documents, got int"
    ) as info:
        write(MongoOutlet(name, uri=mongo_uri), [5, {"n": 1}])
    ((record, error),) = info.value.rejected
    assert record.payload == 5 and isinstance(error, TypeError)
    assert stored(db) == [{"n": 1}]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_server_fails_fast_naming_host_and_database():
    port = free_port()
    outlet = MongoOutlet("inventory", host="127.0.0.1", port=port, timeout=0.5)
    with pytest.raises(MongoOutletError, match=rf"127\.0\.0\.1:{port} \(database 'inventory'\) within 0.5s") as info:
        outlet.try_start()
    assert "ServerSelectionTimeoutError: 127.0.0.1:" in str(info.value) and "Connection refused" in str(info.value)
    assert "Topology Description" not in str(info.value) and len(str(info.value)) < 400, str(info.value)


def test_positional_arguments_as_in_databay_03():
    def processor(records):
        return records

    outlet = MongoOutlet("inventory", "items", "127.0.0.1", 27018, processor)
    assert (outlet.collection, outlet.address, outlet.processors) == ("items", "127.0.0.1:27018", [processor])


def test_credentials_never_in_repr_logs_or_errors(caplog):
    uri = f"mongodb://alice:hunter2@127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=300"
    outlet = MongoOutlet("inventory", uri=uri, timeout=0.3)
    with caplog.at_level(logging.DEBUG, logger="databay"), pytest.raises(MongoOutletError) as info:
        Link(ListInlet([{"n": 1}]), outlet, 1).transfer()
    for text in (repr(outlet), caplog.text, str(info.value), "".join(info.value.__notes__)):
        assert "hunter2" not in text and "alice" not in text


def test_logs_counts_at_info_documents_at_debug(mongo_uri, database, caplog):
    name, _ = database
    with caplog.at_level(logging.INFO, logger="databay"):
        write(MongoOutlet(name, uri=mongo_uri), [{"n": 1, "secret_field": "s"}])
    assert "insert 1 documents" in caplog.text and "written 1 documents" in caplog.text
    assert "secret_field" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="databay"):
        write(MongoOutlet(name, uri=mongo_uri), [{"n": 2, "secret_field": "s"}])
    assert "secret_field" in caplog.text


def test_connect_and_disconnect(mongo_uri):
    outlet = MongoOutlet("first", uri=mongo_uri)
    assert outlet.connect() is False
    assert outlet.connect() is True
    assert outlet.connect("second") is False and outlet._db.name == "second"
    outlet.disconnect()
    assert outlet._db is None


def test_host_and_port(mongo_uri, database):
    name, db = database
    host, port = pymongo.uri_parser.parse_uri(mongo_uri)["nodelist"][0]
    write(MongoOutlet(name, host=host, port=port), [{"n": 1}])
    assert stored(db) == [{"n": 1}]


def test_import_paths():
    from databay.outlets import MongoOutlet as by_name
    from databay.outlets.mongo_outlet import MongoCollectionNotFound, ensure_connection  # noqa: F401
    from databay.outlets.mongo_outlet import MongoOutlet as by_path

    assert by_name is MongoOutlet and by_path is MongoOutlet


class TestMongoOutletContract(outlet_tester.OutletTester):
    """databay's own OutletTester against the live server."""

    @classmethod
    def setUpClass(cls):
        cls._server = mongodb_uri()
        cls.uri = cls._server.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls._server.__exit__(None, None, None)

    def get_outlet(self):
        return MongoOutlet("databay_outlet_tester", uri=self.uri)

    def written(self, outlet):
        with pymongo.MongoClient(self.uri) as client:
            return list(client.databay_outlet_tester.default_collection.find({}, {"_id": 0}))


def test_listed_by_databay_plugins():
    assert listed_plugin("databay-mongo")["outlets"] == ["MongoOutlet"]
