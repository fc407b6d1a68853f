import asyncio
import logging
import socket
import ssl
import threading

import pytest
import trustme
from aiohttp import web

from databay import Link
from databay.misc import inlet_tester
from databay_http import HttpInlet, HttpInletError, HttpStatusError, InvalidJsonError

from databay_testing import CollectOutlet, listed_plugin
from http_server import PEERS, REQUESTS, SAMPLE_DOCUMENTS, LocalServer, json_app


def transfer(inlet, times=1):
    outlet = CollectOutlet()
    inlet.try_start()
    try:
        link = Link(inlet, outlet, 1)
        for _ in range(times):
            link.transfer()
    finally:
        inlet.try_shutdown()
    return outlet.payloads


def test_json_list_is_one_record_per_element(server):
    assert transfer(HttpInlet(server.url + "/todos")) == [{"id": 1, "title": "a"}, {"id": 2, "title": "b"}]


def test_json_object_is_one_record(server):
    assert transfer(HttpInlet(server.url + "/todo"))[0]["title"] == "delectus aut autem"


def test_text_and_empty_bodies(server):
    assert transfer(HttpInlet(server.url + "/text", json=False)) == ["plain text body"]
    assert transfer(HttpInlet(server.url + "/empty")) == []


def test_params_and_headers_are_sent(server):
    transfer(HttpInlet(server.url + "/todo", params={"q": "1"}, headers={"X-Token": "secret"}))
    request = server.app[REQUESTS][-1]
    assert request.query["q"] == "1" and request.headers["X-Token"] == "secret"


def test_error_status_raises_and_delivers_nothing(server):
    outlet = CollectOutlet()
    with pytest.raises(HttpStatusError, match=r"/broken answered 500") as info:
        Link(HttpInlet(server.url + "/broken"), outlet, 1).transfer()
    assert info.value.status == 500 and outlet.batches == []


def test_invalid_json_says_so_and_shows_its_start(server):
    with pytest.raises(InvalidJsonError, match=r"not valid JSON.*starts: '<html><body>not json"):
        transfer(HttpInlet(server.url + "/html"))


def test_unreachable_host_raises():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(HttpInletError, match=f"127.0.0.1:{port}"):
        transfer(HttpInlet(f"http://127.0.0.1:{port}/", timeout=5))


def test_timeout_raises():
    async def slow(request):
        await asyncio.sleep(5)
        return web.Response(text="[]")

    app = web.Application()
    app.router.add_get("/", slow)
    local = LocalServer(app)
    try:
        with pytest.raises(HttpInletError, match="timed out after 0.2s"):
            transfer(HttpInlet(local.url + "/", timeout=0.2))
    finally:
        local.stop()


def test_connections_are_pooled_per_event_loop(server):
    link = Link(HttpInlet(server.url + "/todo"), CollectOutlet(), 1)

    async def five_transfers():
        for _ in range(5):
            await link.transfer_async()

    before = len(server.app[PEERS])
    asyncio.run(five_transfers())
    assert len(server.app[PEERS]) - before == 1
    asyncio.run(five_transfers())
    assert len(link.inlets[0]._sessions._sessions) == 0  # closed loops leave no session behind


def test_works_from_several_threads_and_loops(server):
    inlet = HttpInlet(server.url + "/todos")
    inlet.try_start()
    outlet = CollectOutlet()
    link = Link(inlet, outlet, 1)
    errors = []

    def run():
        try:
            link.transfer()
        except Exception as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    async def inside_a_loop():
        await link.transfer_async()

    asyncio.run(inside_a_loop())
    inlet.try_shutdown()
    assert errors == [] and len(outlet.payloads) == 10


def test_logs_without_credentials_or_header_values(server, caplog):
    url = server.url.replace("http://", "http://alice:hunter2@") + "/todo"
    with caplog.at_level(logging.INFO, logger="databay"):
        transfer(HttpInlet(url))
        transfer(HttpInlet(server.url + "/todo", headers={"Authorization": "Bearer topsecret"}))
    assert f"pulling {server.url}/todo" in caplog.text and f"received {server.url}/todo" in caplog.text
    assert "hunter2" not in caplog.text and "alice" not in caplog.text and "topsecret" not in caplog.text


def test_credentials_never_in_errors(server):
    url = server.url.replace("http://", "http://alice:hunter2@") + "/broken"
    with pytest.raises(HttpStatusError) as info:
        transfer(HttpInlet(url))
    assert "hunter2" not in str(info.value)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    local = LocalServer(json_app({"/todo": {"secure": True}}), ssl_context=context)
    yield local, str(ca_file)
    local.stop()


def test_cacert_verifies_tls(tls_server):
    local, ca_file = tls_server
    assert transfer(HttpInlet(local.url + "/todo", cacert=ca_file)) == [{"secure": True}]
    with pytest.raises(HttpInletError, match="certificate"):
        transfer(HttpInlet(local.url + "/todo"))


def test_positional_arguments_as_in_databay_03():
    inlet = HttpInlet("http://127.0.0.1:1/", False, None, {"q": "1"}, {"X-A": "b"}, {"source": "web"})
    assert (inlet.json, inlet.params, inlet.headers, inlet.metadata) == (False, {"q": "1"}, {"X-A": "b"}, {"source": "web"})


def test_import_paths():
    from databay.inlets import HttpInlet as by_name
    from databay.inlets.http_inlet import HttpInlet as by_path

    assert by_name is HttpInlet and by_path is HttpInlet


class TestHttpInletContract(inlet_tester.InletTester):
    """databay's own InletTester, against the live local server."""

    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = LocalServer(json_app(SAMPLE_DOCUMENTS))

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def get_inlet(self):
        return [HttpInlet(self.server.url + "/todos"), HttpInlet(self.server.url + "/text", json=False)]


def test_listed_by_databay_plugins():
    assert listed_plugin("databay-http")["inlets"] == ["HttpInlet"]
