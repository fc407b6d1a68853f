"""Per-record isolation: a record MongoDB cannot take (BSON cannot encode it, or the server refuses
it) is rejected on its own, with an error naming the outlet and the problem, after the others are
written; a link with a Delivery sends it to the dead letter. Against a real server."""

import datetime
import decimal
import uuid

import pymongo
import pytest

from databay import Delivery, Link, Record, RejectedRecords
from databay_mongo import MongoDocumentError, MongoOutlet, MongoOutletError

from databay_testing import CollectOutlet, ListInlet

NO_WAIT = (0.0, 0.0)


def numbers(db, collection="default_collection"):
    return sorted(document["n"] for document in db[collection].find({"n": {"$exists": True}}))


def transfer_with_dead_letter(outlet, payloads):
    """One transfer of ``payloads`` to ``outlet`` by a link with a dead letter; the link and its dead letter."""
    dead = CollectOutlet()
    delivery = Delivery(retries=1, backoff=NO_WAIT, dead_letter=dead)
    link = Link(ListInlet(payloads), outlet, 1, tags="mongo", delivery=delivery)
    outlet.try_start()
    try:
        link.transfer()
    finally:
        outlet.try_shutdown()
    return link, dead


def test_records_bson_cannot_encode_go_to_the_dead_letter_and_the_others_to_mongo(mongo_uri, database):
    name, db = database
    bad = [
        {"n": 101, "tags": {"red", "blue"}},
        {"n": 102, "price": decimal.Decimal("9.99")},
        {"n": 103, "day": datetime.date(2024, 2, 29)},
        {"n": 104, "count": 2**63},
        {"n": 105, "items": [{"sku": "a"}, {"sku": "b", "weight": -(2**64)}]},  # deep inside
        {"n": 106, "ref": uuid.UUID(int=7)},  # pymongo's default uuidRepresentation refuses it
    ]
    good = [{"n": n} for n in range(10)]
    payloads = [good[0], *bad[:3], *good[1:8], *bad[3:], *good[8:]]
    outlet = MongoOutlet(name, uri=mongo_uri, timeout=2)
    link, dead = transfer_with_dead_letter(outlet, payloads)
    assert numbers(db) == list(range(10))
    (letters,) = dead.batches
    assert [letter.payload for letter in letters] == bad  # whole, in order, without an _id of ours
    errors = [letter.metadata["__error__"] for letter in letters]
    expected = [
        "field 'tags' holds a set, which BSON cannot encode (store a list)",
        "field 'price' holds a Decimal, which BSON cannot encode (store bson.Decimal128 or a float)",
        "field 'day' holds a date, which BSON cannot encode (store a datetime.datetime)",
        "field 'count' holds an int out of BSON's 64-bit range",
        "field 'items.1.weight' holds an int out of BSON's 64-bit range",
        "field 'ref' cannot be encoded: ValueError: cannot encode native uuid.UUID with UuidRepresentation.UNSPECIFIED",
    ]
    for error, problem, record in zip(errors, expected, [2, 3, 4, 12, 13, 14], strict=True):
        assert error.startswith(
            f"MongoDocumentError: {outlet!r}: the document of record {record} for {name}.default_collection: "
        ), error
        assert problem in error, error
    assert not any(
        value in "".join(errors) for value in ("9.99", "2024", "blue", str(2**63))
    )  # bson's text repeats values
    assert {letter.metadata["__outlet__"] for letter in letters} == {repr(outlet)}
    assert all("tags:['mongo']" in letter.metadata["__link__"] for letter in letters)
    assert link._deliverer.spilled == 0 and link.undelivered == 0


def test_documents_the_server_refuses_or_would_are_rejected_one_by_one(mongo_uri, database):
    name, db = database
    db.default_collection.insert_one({"_id": "taken", "n": -1})
    # over 16 MiB the server refuses a document; past its 48 MB message size pymongo fails the whole insert
    too_large = {"_id": "large", "n": 99, "blob": "x" * (50 * 1024 * 1024)}
    payloads = [
        {"_id": "a", "n": 1},
        {"_id": "taken", "n": 2},
        {"_id": "b", "n": 3},
        {"_id": "a", "n": 4},
        too_large,
        {"n": 5},
    ]
    outlet = MongoOutlet(name, uri=mongo_uri, timeout=5)
    link, dead = transfer_with_dead_letter(outlet, payloads)
    assert numbers(db) == [-1, 1, 3, 5]
    (letters,) = dead.batches
    assert [letter.payload["n"] for letter in letters] == [2, 4, 99]
    errors = [letter.metadata["__error__"] for letter in letters]
    assert f"{outlet!r}: the server refused the document of record 2 in {name}.default_collection: E11000" in errors[0]
    assert errors[0].endswith("(code 11000)") and "record 4" in errors[1] and "(code 11000)" in errors[1]
    assert "the document of record 5 for" in errors[2] and "x" * 100 not in errors[2]
    assert "the document is 52428838 bytes as BSON, over the server's limit of 16777216; not written" in errors[2]
    assert link._deliverer.spilled == 0


def test_a_record_is_rejected_whole_and_says_how_many_of_its_documents_landed(mongo_uri, database):
    name, db = database
    db.default_collection.insert_one({"_id": "taken", "n": -1})
    outlet = MongoOutlet(name, uri=mongo_uri)
    records = [
        Record([{"n": 1}, {"n": 2, "when": datetime.time(12)}]),  # one document cannot be encoded: none is written
        Record([{"n": 3}, {"_id": "taken", "n": 4}, {"n": 5}]),  # the server refuses one: the others land
        Record({"n": 6}),
        Record(7),
    ]
    with pytest.raises(RejectedRecords) as info:
        outlet.push(records, "lists")
    outlet.disconnect()
    assert numbers(db) == [-1, 3, 5, 6]
    rejected = info.value.rejected
    assert [record for record, _ in rejected] == [records[0], records[1], records[3]]
    errors = [error for _, error in rejected]
    assert isinstance(errors[0], MongoDocumentError) and errors[0].written == 0
    assert "document 2 of 2 of record 1" in str(errors[0]) and "field 'when' holds a time" in str(errors[0])
    assert isinstance(errors[1], MongoDocumentError) and errors[1].written == 2
    assert "refused document 2 of 3 of record 2" in str(errors[1]) and "2 of its 3 documents were written" in str(
        errors[1]
    )
    assert isinstance(errors[2], TypeError) and "writes dict payloads as documents, got int" in str(errors[2])
    assert str(info.value).startswith(
        f"{outlet!r} wrote 1 record(s) and rejected 3; the first: document 2 of 2 of record 1 for"
    )
    assert info.value.__cause__ is errors[0] and errors[0].__cause__ is None and errors[0].__context__ is None


def test_rejections_keep_their_records_order_across_collections(mongo_uri, database):
    name, db = database
    elsewhere = {MongoOutlet.MONGODB_COLLECTION: "other"}
    records = [
        Record({"n": 1, "x": {1}}, elsewhere),
        Record({"n": 2}),
        Record({"n": 3, "x": {3}}),
        Record({"n": 4}, elsewhere),
    ]
    outlet = MongoOutlet(name, uri=mongo_uri)
    with pytest.raises(RejectedRecords) as info:
        outlet.push(records, "two collections")
    outlet.disconnect()
    assert [record for record, _ in info.value.rejected] == [records[0], records[2]]
    assert f"for {name}.other" in str(info.value.rejected[0][1]) and f"for {name}.default_collection" in str(
        info.value.rejected[1][1]
    )
    assert numbers(db) == [2] and numbers(db, "other") == [4]


def test_without_a_delivery_the_link_raises_the_rejection_after_writing_the_rest(mongo_uri, database):
    name, db = database
    outlet = MongoOutlet(name, uri=mongo_uri)
    link = Link(ListInlet([{"n": 1}, {"n": 2, "bad": decimal.Decimal(1)}, {"n": 3}]), outlet, 1)
    with pytest.raises(
        RejectedRecords, match=r"wrote 2 record\(s\) and rejected 1; the first: .*field 'bad' holds a Decimal"
    ):
        link.transfer()
    outlet.disconnect()
    assert numbers(db) == [1, 3] and link.undelivered == 1


def fail_with_write_concern_error(mongo_uri):
    """A failpoint (mongod's test commands): the next insert runs, then reports a write concern error."""
    client = pymongo.MongoClient(mongo_uri)
    try:
        client.admin.command(
            "configureFailPoint",
            "failCommand",
            mode={"times": 1},
            data={
                "failCommands": ["insert"],
                "writeConcernError": {"code": 64, "errmsg": "waiting for replication timed out"},
            },
        )
    except pymongo.errors.OperationFailure as error:
        client.close()
        pytest.skip(f"the server takes no failpoints: {error}")
    return client


def test_a_write_concern_error_fails_the_whole_batch_with_the_exact_count(mongo_uri, database):
    name, db = database
    outlet = MongoOutlet(name, uri=mongo_uri)
    outlet.connect()
    client = fail_with_write_concern_error(mongo_uri)
    try:
        with pytest.raises(MongoOutletError) as info:
            outlet.push([Record({"_id": n, "n": n}) for n in (1, 2, 1, 3)], "write concern")
    finally:
        client.close()
        outlet.disconnect()
    assert not isinstance(info.value, MongoDocumentError)  # the batch, not a record: it is retried or spilled
    assert info.value.written == 3 == db.default_collection.count_documents({})
    assert "writing 4 documents into" in str(info.value) and "3 of them were written" in str(info.value)
