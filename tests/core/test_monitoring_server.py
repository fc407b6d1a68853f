"""The monitoring server's hardening: silent clients are dropped, core's endpoints cannot be
taken over by a plugin, one plugin's endpoint is not silently replaced by another's, and a
planner paused on purpose is not reported unhealthy."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from databay import Link
from databay.hookspecs import hookimpl
from databay.monitoring import REQUEST_TIMEOUT, MonitoringServer
from databay.plugins import get_plugin_manager

from databay_testing import CollectOutlet, ListInlet, ThreadPlanner, http_get, poll


def planner() -> ThreadPlanner:
    return ThreadPlanner(Link(ListInlet([1]), CollectOutlet(), 1, tags="feed"))


class Routes:
    """A plugin registering fixed endpoints (or failing after registering them)."""

    def __init__(self, body: bytes, paths: list[str], fail: bool = False) -> None:
        self.body, self.paths, self.fail = body, paths, fail

    @hookimpl
    def register_monitoring_routes(self, register):
        for path in self.paths:
            register(path, lambda planner: (200, "text/plain", self.body))
        if self.fail:
            raise RuntimeError("routes broke at https://user:hunter2@plugin.example/")


@pytest.fixture
def installed() -> Iterator[list[object]]:
    """Plugins appended here are registered with the real plugin manager, in order, until the test ends."""
    plugins: list[object] = []
    yield plugins
    for plugin in plugins:
        get_plugin_manager().unregister(plugin)


def install(installed: list[object], name: str, plugin: object) -> None:
    get_plugin_manager().register(plugin, name=name)
    installed.append(plugin)


def test_a_silent_client_is_dropped_after_the_request_timeout_and_others_are_served():
    assert REQUEST_TIMEOUT == 10.0  # the default of MonitoringServer(request_timeout=)
    with MonitoringServer(planner(), request_timeout=0.2) as server:
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=30) as idle:
            assert http_get(f"{server.url}/healthz")[0] == 503  # served meanwhile (the planner is idle)
            assert idle.recv(1) == b""  # closed by the server, long before this client's own 30 s


def test_core_endpoints_cannot_be_replaced_and_a_clash_names_both_plugins(installed, caplog):
    install(installed, "test-hijack", Routes(b"hijacked", ["/healthz", "/extra"]))
    install(installed, "test-late", Routes(b"late", ["/extra"]))
    with caplog.at_level(logging.WARNING, logger="databay.monitoring"), MonitoringServer(planner()) as server:
        status, body = http_get(f"{server.url}/healthz")
        assert status == 503 and json.loads(body)["status"] == "planner idle"  # core's, not the plugin's
        assert http_get(f"{server.url}/extra") == (200, "hijacked")  # the first plugin to register it keeps it
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert any("/healthz" in line and "core" in line and "'test-hijack'" in line for line in warnings), warnings
    assert any("/extra" in line and "'test-hijack'" in line and "'test-late'" in line for line in warnings), warnings


def test_a_plugin_failing_to_register_serves_none_of_its_endpoints(installed, caplog):
    install(installed, "test-broken-routes", Routes(b"partial", ["/partial"], fail=True))
    with caplog.at_level(logging.ERROR, logger="databay.monitoring"), MonitoringServer(planner()) as server:
        assert http_get(f"{server.url}/partial")[0] == 404
        assert http_get(f"{server.url}/healthz")[0] == 503
    assert "'test-broken-routes' failed in register_monitoring_routes: RuntimeError" in caplog.text
    assert "hunter2" not in caplog.text


def test_a_paused_planner_is_healthy_and_says_so_however_long_the_pause():
    outlet = CollectOutlet()
    running = ThreadPlanner(Link(ListInlet([1]), outlet, 0.05, tags="feed"))
    thread = threading.Thread(target=running.start)
    thread.start()
    try:
        with MonitoringServer(running) as server:
            healthz = f"{server.url}/healthz"
            poll(lambda: http_get(healthz)[0] == 200)
            running.pause()
            paused_at = time.monotonic()
            poll(lambda: time.monotonic() - paused_at > 0.3)  # six intervals without a transfer pass
            status, body = http_get(healthz)
            report = json.loads(body)
            assert status == 200 and report["status"] == "paused" and report["stale"] == []
            assert report["links"]["feed"]["paused"] and not report["links"]["feed"]["stale"]
            running.resume()
            status, body = poll(lambda: (answer := http_get(healthz))[0] == 200 and "ok" in answer[1] and answer)
            assert not json.loads(body)["links"]["feed"]["paused"]
    finally:
        running.shutdown()
        thread.join(10)
