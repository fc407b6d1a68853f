"""databay's pytest plugin (databay.testing, the `databay` pytest11 entry point), tested the way
pytest tests plugins: with pytester running real pytest sessions on small test files."""

from __future__ import annotations

import datetime
import importlib.util
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from databay import Link
from databay.support.buffers import Buffer
from databay.testing.mongo import URI_ENV

from databay_testing import CollectOutlet, ListInlet, ThreadPlanner

pytest_plugins = ["pytester"]


def test_testers_are_not_collected_themselves_but_their_subclasses_are(pytester):
    pytester.makepyfile(
        """
        from databay.inlets import RandomIntInlet
        from databay.misc import InletTester, OutletTester, PlannerTester

        class TestRandomIntInlet(InletTester):
            def get_inlet(self):
                return RandomIntInlet()
        """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*TestRandomIntInlet::test_pull PASSED*"])
    result.stdout.no_fnmatch_line("*::InletTester::*")


def test_fixtures_come_from_the_entry_point_and_can_be_disabled(pytester):
    result = pytester.runpytest("--fixtures")
    result.stdout.fnmatch_lines(["databay_clock *", "databay_http_server *", "databay_mongo_uri *", "databay_mongo *"])
    pytester.makepyfile("def test_clock(databay_clock):\n    pass\n")
    pytester.runpytest("-p", "no:databay").stdout.fnmatch_lines(["*fixture 'databay_clock' not found*"])


def test_http_server_serves_routes_and_stops_after_the_test(pytester):
    pytest.importorskip("aiohttp")
    pytester.makepyfile(
        """
        import json, urllib.request
        from aiohttp import web

        def get(url):
            with urllib.request.urlopen(url) as response:
                return response.read()

        def test_routes(databay_http_server, tmp_path_factory):
            server = databay_http_server({"/doc": {"a": 1}, "/raw": b"bytes", "/made": lambda request: web.Response(text=request.path)})
            server.add_route("/later", [1, 2])
            assert json.loads(get(server.url("/doc"))) == {"a": 1}
            assert get(server.url("raw")) == b"bytes" and get(server.url("/made")) == b"/made"
            assert json.loads(get(server.url("/later"))) == [1, 2]
            assert [request.path for request in server.requests] == ["/doc", "/raw", "/made", "/later"]
            (tmp_path_factory.getbasetemp() / "port").write_text(server.url().split(":")[2].rstrip("/"))
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)
    port = int(next(pytester.path.parent.rglob("port")).read_text())
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_mongo_gives_each_test_its_own_database(pytester):
    pytest.importorskip("secantus")
    pytest.importorskip("pymongo")
    pytester.makepyfile(
        """
        import pymongo

        names = []

        def test_first(databay_mongo):
            databay_mongo.db.things.insert_one({"n": 1})
            with pymongo.MongoClient(databay_mongo.uri) as client:  # what landed, seen by another client
                assert client[databay_mongo.name].things.count_documents({}) == 1
            names.append(databay_mongo.name)

        def test_second(databay_mongo):
            assert databay_mongo.name not in names and databay_mongo.db.things.count_documents({}) == 0
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


@pytest.fixture
def mongodb_server_uri(tmp_path) -> Iterator[str]:
    """DATABAY_TEST_MONGODB_URI if set, else SecantusDB serving from a process of its own (the
    inline pytester runs above unload what they import, and secantus cannot be imported twice)."""
    if os.environ.get(URI_ENV):
        yield os.environ[URI_ENV]
        return
    if importlib.util.find_spec("secantus") is None:
        pytest.skip("needs secantusdb, or DATABAY_TEST_MONGODB_URI")
    serve = (
        "import sys\nfrom secantus import SecantusDBServer\n"
        f"server = SecantusDBServer(storage_path={str(tmp_path)!r})\nserver.start()\n"
        "print(server.uri, flush=True)\nsys.stdin.read()\nserver.stop()\n"
    )
    with subprocess.Popen([sys.executable, "-c", serve], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as server:
        assert server.stdout is not None and server.stdin is not None
        try:
            yield server.stdout.readline().strip()
        finally:
            server.stdin.close()  # the server stops at end of input
            server.wait(30)


def test_mongo_with_a_uri_given_needs_no_secantus(pytester, monkeypatch, mongodb_server_uri):
    """DATABAY_TEST_MONGODB_URI names the server (a real mongod, say): SecantusDB need not be installed."""
    pytest.importorskip("pymongo")
    pytester.makeconftest("import sys\nsys.modules['secantus'] = None\n")  # not installed, as far as imports go
    pytester.makepyfile(
        """
        def test_given_server(databay_mongo):
            databay_mongo.db.things.insert_one({"n": 1})
            assert databay_mongo.db.things.count_documents({}) == 1
        """
    )
    monkeypatch.setenv(URI_ENV, mongodb_server_uri)
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_mongo_without_a_uri_or_secantus_fails_with_the_install_command(pytester, monkeypatch):
    monkeypatch.delenv(URI_ENV, raising=False)
    pytester.makeconftest("import sys\nsys.modules['secantus'] = None\n")
    pytester.makepyfile("def test_mongo(databay_mongo):\n    pass\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the databay_mongo fixture needs secantus, which is not installed: pip install secantusdb*"])


def test_a_missing_library_fails_with_the_install_command(pytester):
    pytester.makeconftest("import sys\nsys.modules['aiohttp'] = sys.modules['time_machine'] = None\n")
    pytester.makepyfile("def test_http(databay_http_server):\n    pass\n\ndef test_clock(databay_clock):\n    pass\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*the databay_http_server fixture needs aiohttp, which is not installed: pip install aiohttp*",
            '*the databay_clock fixture needs time_machine, which is not installed: pip install "time-machine>=3"*',
        ]
    )


def test_clock_drives_a_buffer_time_threshold(databay_clock):
    outlet = CollectOutlet(processors=Buffer(time_threshold=60))
    link = Link(ListInlet([1]), outlet, 60)
    link.transfer()
    databay_clock.advance(60)
    link.transfer()
    assert outlet.payloads == []  # not yet: strictly more than 60 s
    databay_clock.advance(datetime.timedelta(seconds=1))
    link.transfer()
    assert outlet.payloads == [1, 1, 1]


def test_clock_moves_only_forward_and_drives_only_planners_it_can_step(databay_clock):
    before = databay_clock.now()
    with pytest.raises(ValueError, match="only moves forward"):
        databay_clock.advance(-1)
    with pytest.raises(TypeError, match="_next_due"), databay_clock.running(ThreadPlanner()):
        pass
    assert databay_clock.now() == before
