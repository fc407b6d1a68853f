"""MongoOutlet against a hung server: its timeout bounds every operation, and it reports the count
the server really holds (a proxy holds the server's answers back while the writes still land)."""

import time

import pytest
from pymongo import monitoring

from databay import Record
from databay_mongo import MongoOutlet, MongoOutletError


class RecoverWhenInsertFails(monitoring.CommandListener):
    """Ends the proxy's stall when an insert fails (pymongo's own command monitoring)."""

    def __init__(self, proxy):
        self.proxy = proxy

    def started(self, event):
        pass

    def succeeded(self, event):
        pass

    def failed(self, event):
        if event.command_name == "insert" and self.proxy is not None:
            self.proxy.stalled.clear()


def documents(count: int) -> list[Record]:
    return [Record({"n": n}) for n in range(count)]


def test_the_timeout_reaches_pymongo(mongo_uri):
    outlet = MongoOutlet(uri=mongo_uri, timeout=1.5)
    outlet.connect()
    try:
        options = outlet._client.options
        assert options.server_selection_timeout == 1.5 and options.timeout == 1.5
        assert options.pool_options.connect_timeout == 1.5 and options.pool_options.socket_timeout == 1.5
    finally:
        outlet.disconnect()


def test_a_push_to_a_hung_server_fails_within_its_timeout_and_says_the_count_is_unknown(stalling_proxy, database):
    name, db = database
    outlet = MongoOutlet(name, uri=stalling_proxy.uri, timeout=1)
    outlet.push(documents(10), "warm")
    stalling_proxy.stalled.set()
    started = time.monotonic()
    with pytest.raises(MongoOutletError) as info:
        outlet.push(documents(1000), "hung")
    took = time.monotonic() - started
    stalling_proxy.stalled.clear()
    outlet.disconnect()
    assert took < 2 * 1 + 2, took  # the insert within the timeout, then the count within the timeout
    assert info.value.written is None
    assert "how many of them were written is unknown (the server did not answer within 1s)" in str(info.value)
    assert "NetworkTimeout" in str(info.value)


def test_a_push_reports_what_landed_when_the_server_answers_again(stalling_proxy, database):
    name, db = database
    recovery = RecoverWhenInsertFails(stalling_proxy)  # the server answers again once the insert gave up
    monitoring.register(recovery)  # before the outlet makes its client: pymongo reads listeners then
    outlet = MongoOutlet(name, uri=stalling_proxy.uri, timeout=2)
    try:
        outlet.push(documents(10), "warm")
        stalling_proxy.stalled.set()
        with pytest.raises(MongoOutletError) as info:
            outlet.push(documents(100), "hung")  # the insert times out, its documents on the server
    finally:
        recovery.proxy = None  # pymongo keeps registered listeners: this one goes quiet
        outlet.disconnect()
    landed = db.default_collection.count_documents({}) - 10
    assert landed == 100 and info.value.written == 100
    assert "100 of them were written" in str(info.value)


def test_connect_to_a_hung_server_fails_within_its_timeout(stalling_proxy):
    stalling_proxy.stalled.set()
    outlet = MongoOutlet(uri=stalling_proxy.uri, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(MongoOutletError, match="within 0.5s"):
        outlet.connect()
    assert time.monotonic() - started < 0.5 + 2


def test_the_timeout_overrides_the_uri(mongo_uri):
    uri = mongo_uri + ("&" if "?" in mongo_uri else "?") + "socketTimeoutMS=60000&serverSelectionTimeoutMS=60000"
    outlet = MongoOutlet(uri=uri, timeout=0.7)
    outlet.connect()
    try:
        assert outlet._client.options.server_selection_timeout == 0.7
        assert outlet._client.options.pool_options.socket_timeout == 0.7
    finally:
        outlet.disconnect()
