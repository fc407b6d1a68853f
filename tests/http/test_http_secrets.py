"""HttpInlet keeps secrets out of every log line, repr and error, over whole runs against a real server."""

import asyncio
import logging
import socket
import subprocess
import sys
import threading

import pytest
from aiohttp import web

from databay import Link
from databay_http import HttpInlet, HttpInletError

from databay_testing import CollectOutlet
from http_server import REQUESTS, SAMPLE_DOCUMENTS, LocalServer, json_app

SECRETS = ["PWSECRET1", "KEYSECRET2", "TOKSECRET3", "SIGSECRET4", "HDRSECRET5", "HDRSECRET6", "SESSSECRET7"]
QUERY = "api_key=KEYSECRET2&access_token=TOKSECRET3&q=1"
PARAMS = {"signature": "SIGSECRET4", "page": 1}
HEADERS = {"X-Auth-Token": "HDRSECRET5", "X-Api-Key": "HDRSECRET6"}


def secret_url(base: str, path: str) -> str:
    return base.replace("http://", "http://alice:PWSECRET1@") + path + "?" + QUERY + "#sessionid=SESSSECRET7"


def chain(error: BaseException | None) -> list[BaseException]:
    """The error and everything chained to it (causes and contexts)."""
    errors = []
    while error is not None:
        errors.append(error)
        error = error.__cause__ or error.__context__
    return errors


def texts_of(error: BaseException) -> list[str]:
    """The texts and notes of the error and of everything chained to it."""
    return [text for e in chain(error) for text in (str(e), repr(e), *getattr(e, "__notes__", []))]


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        leaked = [secret for secret in SECRETS if secret in text]
        assert not leaked, f"{leaked} in: {text}"


@pytest.fixture(scope="module")
def servers():
    released = threading.Event()

    async def never_answers(request):
        while not released.is_set():  # until the fixture ends: the server's cleanup waits for handlers
            await asyncio.sleep(0.05)

    async def redirect_loop(request):
        raise web.HTTPFound(f"/loop?{QUERY}")

    app = json_app(SAMPLE_DOCUMENTS)
    app.router.add_get("/hang", never_answers)
    app.router.add_get("/loop", redirect_loop)
    local = LocalServer(app)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{probe.getsockname()[1]}"
    yield local, refused
    released.set()
    local.stop()


def failures(local: LocalServer, refused: str) -> list[HttpInlet]:
    """Inlets whose every pull fails: an error status, a refused connection, a timeout, a redirect
    loop (aiohttp's error names the URL), a password with a raw '/' (aiohttp refuses the URL)."""
    return [
        HttpInlet(secret_url(local.url, "/broken"), params=PARAMS, headers=HEADERS),
        HttpInlet(secret_url(refused, "/"), params=PARAMS, headers=HEADERS),
        HttpInlet(secret_url(local.url, "/hang"), params=PARAMS, headers=HEADERS, timeout=0.3),
        HttpInlet(secret_url(local.url, "/loop"), params=PARAMS, headers=HEADERS),
        HttpInlet(local.url.replace("http://", "http://alice:PW/SECRET1@") + "/todo?" + QUERY),
    ]


def test_a_whole_run_leaks_no_secret(servers, caplog):
    local, refused = servers
    good = HttpInlet(secret_url(local.url, "/todo"), params=PARAMS, headers=HEADERS)
    outlet = CollectOutlet()
    errors: list[BaseException] = []
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="databay"):  # aiohttp's too
        link = Link(good, outlet, 1, tags="secrets")
        for _ in range(3):
            link.transfer()
        for inlet in failures(local, refused):
            with pytest.raises(HttpInletError) as info:
                Link(inlet, CollectOutlet(), 1, tags="failing").transfer()
            errors.append(info.value)
            inlet.try_shutdown()
        ignoring = Link(failures(local, refused)[:2], CollectOutlet(), 1, ignore_exceptions=True)
        ignoring.transfer()  # logged by the engine instead of raised
    assert len(outlet.payloads) == 3
    request = local.app[REQUESTS][-1]
    assert request.query["signature"] == "SIGSECRET4" and request.headers["X-Api-Key"] == "HDRSECRET6"  # all sent
    assert f"pulling http://***@127.0.0.1:{local.port}/todo?api_key=***&access_token=***&q=1" in caplog.text
    assert "signature=***&page=1#sessionid=***" in caplog.text
    assert "answered 500" in caplog.text and "Connect" in caplog.text and "TooManyRedirects" in caplog.text
    assert_no_secret(caplog.text, repr(good), repr(link), repr(ignoring), *(t for e in errors for t in texts_of(e)))


def test_a_failure_is_one_line_naming_node_url_and_cause(servers, caplog):
    local, refused = servers
    broken, unreachable, slow = failures(local, refused)[:3]
    expected = {
        broken: f"HttpInlet(metadata:{{}}): GET http://***@127.0.0.1:{local.port}/broken?api_key=***&access_token=***"
        "&q=1&signature=***&page=1#sessionid=*** answered 500 Internal Server Error",
        unreachable: "failed: ClientConnectorError: Cannot connect to host 127.0.0.1",
        slow: "timed out after 0.3s",
    }
    for inlet, text in expected.items():
        with caplog.at_level(logging.INFO, logger="databay"), pytest.raises(HttpInletError) as info:
            Link(inlet, CollectOutlet(), 1).transfer()
        message = str(info.value)
        assert text in message and "\n" not in message
        assert info.value.__cause__ is None and not any(
            type(e).__module__.startswith("aiohttp") for e in chain(info.value)
        )
        assert "Traceback" not in caplog.text  # the aiohttp traceback only at DEBUG
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="databay"), pytest.raises(HttpInletError):
            Link(inlet, CollectOutlet(), 1).transfer()
        if inlet is not broken:
            assert "Traceback" in caplog.text and "aiohttp" in caplog.text
        assert_no_secret(caplog.text)
        caplog.clear()
        inlet.try_shutdown()


DATABAY = [sys.executable, "-c", "from databay.cli import cli; cli()"]


def test_databay_run_once_vv_shows_no_secret(servers, tmp_path):
    pytest.importorskip("databay_aps", reason="a pipeline names a planner; databay-aps is not installed")
    local, refused = servers
    for url in (secret_url(local.url, "/todo"), secret_url(local.url, "/broken"), secret_url(refused, "/")):
        pipeline = tmp_path / "pipeline.toml"
        pipeline.write_text(f"""
[planner]
type = "ApsPlanner"

[[links]]
tags = ["web"]
interval = "1s"

[[links.inlets]]
type = "HttpInlet"
url = "{url}"
params = {{ signature = "SIGSECRET4", page = 1 }}
headers = {{ X-Auth-Token = "HDRSECRET5" }}

[[links.outlets]]
type = "PrintOutlet"
""")
        result = subprocess.run(
            [*DATABAY, "run", "--once", "-vv", str(pipeline)], capture_output=True, text=True, timeout=60
        )
        assert "pulling http://***@127.0.0.1" in result.stderr, result.stderr
        assert_no_secret(result.stdout, result.stderr)
