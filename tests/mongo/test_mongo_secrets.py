"""MongoOutlet keeps the credentials of its URI out of every log line, repr and error, against a real server."""

import itertools
import logging
import os
import socket
import subprocess
import sys
from urllib.parse import quote_plus

import pymongo
import pymongo.uri_parser
import pytest

from databay import Link, Record, RejectedRecords
from databay_mongo import MongoOutlet, MongoOutletError

from databay_testing import ListInlet

USER = "alice_secretuser"
PASSWORD = "hun/ter2:PWSECRET@x"  # a '/', a ':' and an '@': percent-encoded in the URI
SECRETS = [USER, PASSWORD, quote_plus(PASSWORD), "PWSECRET"]
_users = itertools.count()


def chain(error: BaseException | None) -> list[BaseException]:
    """The error and everything chained to it (causes and contexts)."""
    errors = []
    while error is not None:
        errors.append(error)
        error = error.__cause__ or error.__context__
    return errors


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        leaked = [secret for secret in SECRETS if secret in text]
        assert not leaked, f"{leaked} in: {text}"


def assert_error_clean(error: BaseException) -> None:
    assert not any(type(e).__module__.startswith(("pymongo", "bson")) for e in chain(error))
    assert_no_secret(*(text for e in chain(error) for text in (str(e), repr(e), *getattr(e, "__notes__", []))))


def with_credentials(uri: str, user: str, password: str, database: str) -> str:
    """``uri`` (of the test server) with a user and password, authenticating against ``database``."""
    host, port = pymongo.uri_parser.parse_uri(uri)["nodelist"][0]
    return f"mongodb://{quote_plus(user)}:{quote_plus(password)}@{host}:{port}/{database}?authSource={database}"


@pytest.fixture
def secret_uri(mongo_uri, database):
    """A URI with the credentials of a user made for this test on its database."""
    name, db = database
    db.command("createUser", USER, pwd=PASSWORD, roles=["readWrite"])
    yield with_credentials(mongo_uri, USER, PASSWORD, name)
    db.command("dropUser", USER)


def test_a_whole_run_leaks_no_secret(secret_uri, mongo_uri, database, caplog):
    name, db = database
    outlet = MongoOutlet(name, "items", uri=secret_uri, timeout=2)
    link = Link(ListInlet([{"n": 1}, {"n": 2}]), outlet, 1, tags="secrets")
    errors = []
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="databay"):  # pymongo's logs too
        outlet.try_start()
        for _ in range(3):
            link.transfer()
        duplicate = [Record({"_id": 1}), Record({"_id": 2}), Record({"_id": 1}), Record({"_id": 3})]
        with pytest.raises(RejectedRecords) as info:
            outlet.push(duplicate, "dup")  # the server refuses the third alone: a BulkWriteError naming the key
        errors += [info.value, *(error for _, error in info.value.rejected)]
        outlet.try_shutdown()
        wrong = MongoOutlet(name, uri=with_credentials(mongo_uri, USER, PASSWORD + "x", name), timeout=2)
        with pytest.raises(MongoOutletError) as info:
            Link(ListInlet([{"n": 9}]), wrong, 1).transfer()  # authentication fails
        errors.append(info.value)
        host, port = pymongo.uri_parser.parse_uri(mongo_uri)["nodelist"][0]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed_port = probe.getsockname()[1]
        unreachable = MongoOutlet(name, uri=secret_uri.replace(f":{port}/", f":{closed_port}/"), timeout=0.3)
        with pytest.raises(MongoOutletError) as info:
            unreachable.try_start()
        errors.append(info.value)
    assert db.items.count_documents({}) == 6 + 3  # the run wrote; the refused batch wrote all but the duplicate
    assert "written 3 documents" in caplog.text and "authentication failed" in caplog.text.lower()
    assert "the server refused the document of record 3 in " in str(errors[0]) and "E11000" in str(errors[1])
    assert "'op'" not in str(errors[0]) + str(errors[1])  # pymongo's text would repeat the refused document
    assert repr(outlet) == f"MongoOutlet(address:mongodb://***@{host}:{port}/{name}, database:{name}, collection:items)"
    assert_no_secret(caplog.text, repr(outlet), repr(link), repr(wrong), repr(unreachable), outlet.address)
    for error in errors:
        assert_error_clean(error)


def test_a_password_with_a_raw_slash_never_shows():
    uri = f"mongodb://{USER}:{PASSWORD}@127.0.0.1:27017/db"  # not percent-encoded: pymongo cannot parse it
    with pytest.raises(ValueError, match="not a valid MongoDB connection string.*quote_plus") as info:
        MongoOutlet("db", uri=uri)
    assert_error_clean(info.value)
    with pytest.raises(ValueError) as info:
        MongoOutlet("db", host=uri)  # pymongo takes a connection string as host too
    assert_error_clean(info.value)


def test_address_is_taken_apart_by_pymongo():
    cases = {
        "mongodb://u:p%40ss@h1:1,[::1]:2/admin?replicaSet=rs&authSource=admin": "mongodb://***@h1:1,[::1]:2/admin",
        "mongodb://h1": "mongodb://h1:27017",
        "mongodb+srv://u:p@cluster0.example.net/db": "mongodb+srv://***@cluster0.example.net/db",  # no DNS lookup
    }
    for uri, address in cases.items():
        assert MongoOutlet(uri=uri).address == address
    assert MongoOutlet(host="example.net", port=27018).address == "example.net:27018"


AS_DOCUMENTS = """
def as_documents(records):
    for record in records:
        record.payload = {"n": record.payload}
    return records
"""


def test_databay_run_once_vv_and_check_show_no_secret(secret_uri, database, tmp_path):
    pytest.importorskip("databay_aps", reason="a pipeline names a planner; databay-aps is not installed")
    name, db = database
    pipeline = tmp_path / "pipeline.toml"
    pipeline.write_text(f"""
[planner]
type = "ApsPlanner"

[[links]]
tags = ["to_mongo"]
interval = "1s"

[[links.inlets]]
type = "RandomIntInlet"

[[links.outlets]]
type = "MongoOutlet"
uri = "${{SECRET_URI}}"
database_name = "{name}"
processors = ["as_documents:as_documents"]
""")
    (tmp_path / "as_documents.py").write_text(AS_DOCUMENTS)
    databay = [sys.executable, "-c", "from databay.cli import cli; cli()"]
    runs = {
        "good": secret_uri,
        "wrong password": secret_uri.replace(quote_plus(PASSWORD), quote_plus(PASSWORD + "x")),
        "raw slash": secret_uri.replace(quote_plus(PASSWORD), PASSWORD.replace("@", "%40")),
    }
    for case, uri in runs.items():
        env = {**os.environ, "SECRET_URI": uri}
        for flags in (["--once", "-vv"], ["--check"]):
            result = subprocess.run(
                [*databay, "run", *flags, str(pipeline)], capture_output=True, text=True, env=env, timeout=60
            )
            assert (result.returncode == 0) == (case == "good" or (case == "wrong password" and "--check" in flags)), (
                case,
                flags,
                result.stderr,
            )
            assert_no_secret(result.stdout, result.stderr)
    assert db.default_collection.count_documents({}) == 1
