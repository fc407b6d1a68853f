"""HttpInlet's bounds: max_bytes stops reading a huge body (memory stays bounded), and its timeouts."""

import asyncio
import json
import socket
import subprocess
import sys
import time

import pytest
from aiohttp import web

from databay import Link
from databay_http import HttpInlet, HttpInletError, ResponseTooLargeError

from databay_testing import CollectOutlet
from http_server import LocalServer

MiB = 1024 * 1024
CHUNK = b"x" * MiB


def streaming(size: int, announce: bool):
    """A handler that streams ``size`` bytes, announcing the length (Content-Length) or chunked."""

    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        if announce:
            response.content_length = size
        else:
            response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for start in range(0, size, MiB):
                await response.write(CHUNK[: min(MiB, size - start)])
            await response.write_eof()
        except (ConnectionError, RuntimeError):  # the inlet stopped reading and closed the connection
            pass
        return response

    return handle


@pytest.fixture(scope="module")
def big_server():
    async def small(request: web.Request) -> web.Response:
        return web.json_response([{"n": 1}])

    app = web.Application()
    app.router.add_get("/small", small)
    app.router.add_get("/announced-100mb", streaming(100_000_000, announce=True))
    app.router.add_get("/chunked-100mb", streaming(100_000_000, announce=False))
    app.router.add_get("/chunked-50mb", streaming(50_000_000, announce=False))
    local = LocalServer(app)
    yield local
    local.stop()


PEAK_RSS_GROWTH = """
import json, resource, sys
from databay import Link
from databay.outlets import NullOutlet
from databay_http import HttpInlet

def peak():
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

base, path, max_bytes = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
options = {} if max_bytes is None else {"max_bytes": max_bytes}
Link(HttpInlet(base + "/small", **options), NullOutlet(), 1).transfer()  # imports, loop, TLS-free warm-up
before = peak()
try:
    Link(HttpInlet(base + path + "?api_key=KEYSECRET", **options), NullOutlet(), 1, tags="big").transfer()
    error = None
except Exception as caught:
    error = {"type": type(caught).__name__, "message": str(caught), "notes": getattr(caught, "__notes__", [])}
print(json.dumps({"growth": peak() - before, "error": error}))
"""


def peak_rss_growth(base: str, path: str, max_bytes: int | None = None) -> dict:
    """Pull ``path`` in a fresh process; its peak RSS growth over the pull and the error it raised."""
    result = subprocess.run(
        [sys.executable, "-c", PEAK_RSS_GROWTH, base, path, json.dumps(max_bytes)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_an_announced_100mb_body_is_refused_unread_with_the_default(big_server):
    outcome = peak_rss_growth(big_server.url, "/announced-100mb")
    error = outcome["error"]
    assert error["type"] == "ResponseTooLargeError"
    assert error["message"] == (
        f"HttpInlet(metadata:{{}}): the body from {big_server.url}/announced-100mb?api_key=*** is larger than "
        "max_bytes=67108864 (64 MiB): it announces 100000000 bytes; not read"
    )
    assert any("Link(tags:['big']" in note for note in error["notes"])  # the engine names the link
    assert outcome["growth"] < 10_000_000, outcome  # nothing of the 100 MB was held


def test_a_chunked_50mb_body_stops_at_max_bytes(big_server):
    outcome = peak_rss_growth(big_server.url, "/chunked-50mb", max_bytes=16 * MiB)
    error = outcome["error"]
    assert error["type"] == "ResponseTooLargeError"
    assert (
        f"the body from {big_server.url}/chunked-50mb?api_key=*** is larger than max_bytes=16777216 (16 MiB)"
        in (error["message"])
    )
    assert "stopped reading after" in error["message"]
    assert outcome["growth"] < 25_000_000, outcome  # at most max_bytes and a chunk, never the 50 MB


def test_a_chunked_100mb_body_stops_at_the_default(big_server):
    outcome = peak_rss_growth(big_server.url, "/chunked-100mb")
    assert outcome["error"]["type"] == "ResponseTooLargeError" and "(64 MiB)" in outcome["error"]["message"]
    assert outcome["growth"] < 90_000_000, outcome  # the 64 MiB it may hold, never the 100 MB


def test_max_bytes_none_reads_everything_and_a_body_at_the_limit_passes(big_server):
    exact = len(json.dumps([{"n": 1}]))
    assert transfer(HttpInlet(big_server.url + "/small", max_bytes=exact)) == [{"n": 1}]
    with pytest.raises(ResponseTooLargeError):
        transfer(HttpInlet(big_server.url + "/small", max_bytes=exact - 1))
    assert transfer(HttpInlet(big_server.url + "/small", max_bytes=None)) == [{"n": 1}]


def transfer(inlet):
    outlet = CollectOutlet()
    try:
        Link(inlet, outlet, 1).transfer()
    finally:
        inlet.try_shutdown()
    return outlet.payloads


def test_default_timeouts():
    inlet = HttpInlet("http://127.0.0.1:1/")
    assert (inlet.timeout, inlet.connect_timeout, inlet.max_bytes) == (30.0, 10.0, 64 * MiB)


def test_connect_timeout_against_a_full_backlog():
    """A server that never accepts: once its backlog is full, connecting hangs until connect_timeout."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = [socket.socket() for _ in range(8)]
        try:
            for filler in fillers:
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
            time.sleep(0.2)
            started = time.monotonic()
            with pytest.raises(HttpInletError, match=r"connecting timed out after 0\.5s"):
                transfer(HttpInlet(f"http://127.0.0.1:{port}/", connect_timeout=0.5, timeout=30))
            assert time.monotonic() - started < 10  # the connect timeout, not the total one
        finally:
            for filler in fillers:
                filler.close()


def test_total_timeout_covers_a_body_that_trickles():
    async def trickle(request):
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for _ in range(100):
                await response.write(b"[")
                await asyncio.sleep(0.1)
        except (ConnectionError, RuntimeError):
            pass
        return response

    app = web.Application()
    app.router.add_get("/", trickle)
    local = LocalServer(app)
    try:
        with pytest.raises(HttpInletError, match=r"timed out after 0\.5s"):
            transfer(HttpInlet(local.url + "/", timeout=0.5))
    finally:
        local.stop()
