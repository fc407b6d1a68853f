"""The example plugin's nodes, through databay's ready-made testers and a real local HTTP server.

databay's pytest plugin (installed with databay) provides the ``databay_*`` fixtures: no conftest needed.
"""

from __future__ import annotations

import urllib.error

import pytest
from databay_example import CountingInlet, JsonFeedInlet, MemoryOutlet

from databay import Link
from databay.checking import check_nodes
from databay.misc import InletTester, OutletTester

FEED = [{"id": 1, "title": "a"}, {"id": 2, "title": "b"}]


class TestCountingInlet(InletTester):
    def get_inlet(self):
        return [CountingInlet(), CountingInlet(count=10)]


class TestJsonFeedInlet(InletTester):
    @pytest.fixture(autouse=True)
    def feed_server(self, databay_http_server):
        self.server = databay_http_server({"/feed": FEED, "/one": {"id": 3}})

    def get_inlet(self):
        return [JsonFeedInlet(self.server.url("/feed")), JsonFeedInlet(self.server.url("/one"))]


class TestMemoryOutlet(OutletTester):
    def get_outlet(self):
        return MemoryOutlet()

    def written(self, outlet):
        return outlet.payloads


def test_json_feed_gives_one_record_per_element(databay_http_server):
    server = databay_http_server({"/feed": FEED})
    outlet = MemoryOutlet()
    Link(JsonFeedInlet(server.url("/feed")), outlet, 60).transfer()
    assert outlet.payloads == FEED
    assert [request.path for request in server.requests] == ["/feed"]


def test_json_feed_fails_loudly_on_an_http_error(databay_http_server):
    server = databay_http_server()
    with pytest.raises(urllib.error.HTTPError, match="404"):
        JsonFeedInlet(server.url("/missing")).pull(None)


def test_json_feed_repr_keeps_secrets_out(databay_http_server):
    server = databay_http_server({"/feed": FEED})
    url = server.url("/feed").replace("http://", "http://alice:hunter2@") + "?api_key=k3y"
    assert "hunter2" not in repr(JsonFeedInlet(url)) and "k3y" not in repr(JsonFeedInlet(url))


def test_every_node_passes_the_contract_check():
    """What `databay plugins --check example` runs."""
    reports = check_nodes("example")
    assert {report.name for report in reports} == {"CountingInlet", "JsonFeedInlet", "MemoryOutlet"}
    assert all(report.ok for report in reports), [report.problems for report in reports]
