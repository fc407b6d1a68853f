"""`databay run --shutdown-timeout`: SIGTERM ends the real CLI in time even while a transfer hangs
on an HTTP server that never answers."""

import asyncio
import signal
import subprocess
import sys
import threading
import time

import pytest
from aiohttp import web

from http_server import LocalServer
from planner_checks import wait_for

DATABAY = [sys.executable, "-c", "from databay.cli import cli; cli()"]


@pytest.fixture(scope="module")
def hung_server():
    """Answers nothing: every request is held open until the fixture ends."""
    arrived = []
    released = threading.Event()

    async def never_answers(request):
        arrived.append(request.path)
        while not released.is_set():
            await asyncio.sleep(0.05)
        return web.Response(text="[]")

    app = web.Application()
    app.router.add_get("/{tail:.*}", never_answers)
    local = LocalServer(app)
    yield local, arrived
    released.set()
    local.stop()


def pipeline(tmp_path, url: str) -> str:
    path = tmp_path / "hung.toml"
    path.write_text(f"""
[planner]
type = "ApsPlanner"

[[links]]
tags = ["hung"]
interval = "1s"

[[links.inlets]]
type = "HttpInlet"
url = "{url}"
timeout = 3600                    # the inlet itself would wait an hour

[[links.outlets]]
type = "PrintOutlet"
""")
    return str(path)


def sigterm_while_hung(command: list[str], arrived: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    """Start ``command``, SIGTERM it once its first request hangs; seconds from SIGTERM to exit."""
    before = len(arrived)
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            wait_for(lambda: len(arrived) > before or process.poll() is not None, 30)
            assert process.poll() is None, process.communicate()
            sent = time.monotonic()
            process.send_signal(signal.SIGTERM)
            stdout, stderr = process.communicate(timeout=60)
            took = time.monotonic() - sent
        finally:
            process.kill()
    return took, subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def test_sigterm_ends_within_the_shutdown_timeout_against_a_hung_server(hung_server, tmp_path):
    server, arrived = hung_server
    path = pipeline(tmp_path, f"{server.url}/todos?api_key=KEYSECRET")
    took, result = sigterm_while_hung([*DATABAY, "run", "-v", "--shutdown-timeout", "1.5", path], arrived)
    assert took < 1.5 + 5, (took, result.stderr)  # the timeout, then the cancelled transfer and shutdown
    assert result.returncode == 0, result.stderr
    assert "cancelling 1 transfer(s) still running after 1.5s" in result.stderr
    assert "|E|" not in result.stderr  # a graceful shutdown logs nothing at ERROR, even with a pull in flight
    assert "KEYSECRET" not in result.stderr


def test_the_default_shutdown_timeout_is_ten_seconds():
    result = subprocess.run([*DATABAY, "run", "--help"], capture_output=True, text=True, timeout=60)
    assert "--shutdown-timeout SECONDS" in result.stdout and "default: 10.0" in result.stdout
