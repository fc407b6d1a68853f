"""The monitoring HTTP server of ``databay run --metrics-port``: a stdlib ``ThreadingHTTPServer``
serving the endpoints plugins register through the ``register_monitoring_routes`` hook.

Core registers ``/healthz`` (:func:`healthz`); databay-prometheus registers ``/metrics``. GET
only; an unknown path answers 404 listing the endpoints, and ``/metrics`` without an exporter
says what to install. No body ever shows a credential: link names are tags, errors are redacted.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from databay.plugins import CORE_PLUGIN, get_plugin_manager
from databay.redaction import redact_text

if TYPE_CHECKING:
    from pluggy import HookImpl

    from databay.base_planner import BasePlanner
    from databay.hookspecs import RouteHandler

__all__ = ["DEFAULT_HOST", "REQUEST_TIMEOUT", "MonitoringServer", "healthz", "routes"]

DEFAULT_HOST = "127.0.0.1"
"""Where the server listens unless told otherwise: this machine only."""

REQUEST_TIMEOUT = 10.0
"""Seconds a connection may stay silent before the server closes it: an idle or stalled client
must not hold one of its threads forever."""

_LOGGER = logging.getLogger("databay.monitoring")
_JSON = "application/json"
_TEXT = "text/plain; charset=utf-8"
_METRICS_HINT = "No metrics exporter is installed. Install one with: pip install databay-prometheus\n"


def routes() -> dict[str, RouteHandler]:
    """Every endpoint plugins register, by path.

    Core's endpoints cannot be replaced: core registers first and a path goes to whoever
    registered it first; a later registration of it is logged as a warning naming both plugins
    and ignored. A plugin whose registration fails is logged and none of its endpoints is served.
    """
    table: dict[str, RouteHandler] = {}
    owners: dict[str, str] = {}
    impls = get_plugin_manager().hook.register_monitoring_routes.get_hookimpls()
    for impl in sorted(impls, key=lambda impl: impl.plugin_name != CORE_PLUGIN):  # stable: then loading order
        plugin = impl.plugin_name
        try:
            offered = _offered(impl)
        except Exception as error:
            _LOGGER.error(
                "databay plugin %r failed in register_monitoring_routes: %s; none of its endpoints is served",
                plugin, redact_text(f"{type(error).__name__}: {error}"),
            )
            continue
        for path, handler in offered.items():
            if path in owners:
                owner = "core" if owners[path] == CORE_PLUGIN else f"plugin {owners[path]!r}"
                _LOGGER.warning(
                    "Monitoring endpoint %s is registered by %s and by plugin %r: %s's is served, %r's ignored",
                    path, owner, plugin, owner, plugin,
                )
                continue
            table[path], owners[path] = handler, plugin
    return table


def _offered(impl: HookImpl) -> dict[str, RouteHandler]:
    """The endpoints one plugin's ``register_monitoring_routes`` registers, by path."""
    offered: dict[str, RouteHandler] = {}

    def register(path: str, handler: RouteHandler) -> None:
        if not path.startswith("/"):
            raise ValueError(f"a monitoring route must start with '/', got {path!r}")
        offered[path] = handler

    arguments = {"register": register}
    impl.function(*(arguments[name] for name in impl.argnames))
    return offered


def healthz(planner: BasePlanner) -> tuple[int, str, bytes]:
    """200 while the planner runs and every link has succeeded within three of its intervals;
    503 otherwise, naming the stale links. Links whose last transfer failed are listed as
    ``failing`` either way: one failure is not yet unhealthy, a link that stays down turns stale.

    A paused planner answers 200 with status ``paused`` and its links ``paused``, never stale: it
    was paused on purpose, and an orchestrator must not restart it for that; after a resume,
    staleness counts from the resume. A planner whose transfers run elsewhere
    (``transfers_here = False``, e.g. CeleryPlanner) answers for its own liveness only.
    """
    stats = planner.stats()
    running = planner.running
    paused = running and planner.paused
    stale = [] if paused else sorted(name for name, link in stats.items() if link.stale)
    failing = sorted(
        name for name, link in stats.items()
        if link.last_failure is not None and (link.last_success is None or link.last_failure > link.last_success)
    )
    healthy = running and not stale
    status = "paused" if paused else "ok" if healthy else "stale" if running else f"planner {planner.state.value}"
    body = {
        "status": status,
        "transfers_here": planner.transfers_here,
        "stale": stale,
        "failing": failing,
        "links": {
            name: {
                "stale": link.stale and not paused,
                "paused": paused,
                "last_success": _iso(link.last_success),
                "last_failure": _iso(link.last_failure),
                "last_error": link.last_error,
            }
            for name, link in stats.items()
        },
    }
    return (200 if healthy else 503), _JSON, (json.dumps(body, indent=2) + "\n").encode()


def _iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


class MonitoringServer:
    """Serves the registered endpoints for one planner, on a daemon thread, until :meth:`stop`.

    :param port: 0 picks a free port (see :attr:`url` once started).
    :param host: the address to bind; the default keeps the endpoints on this machine.
    :param request_timeout: seconds a connection may stay silent before it is closed.
    """

    def __init__(
        self, planner: BasePlanner, port: int = 0, host: str = DEFAULT_HOST, request_timeout: float = REQUEST_TIMEOUT
    ) -> None:
        self.planner = planner
        self.routes = routes()
        self._server = ThreadingHTTPServer((host, port), _handler_for(self, request_timeout))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="databay-monitoring", daemon=True)

    @property
    def url(self) -> str:
        """``http://host:port`` the server is bound to."""
        host, port = self._server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    def start(self) -> MonitoringServer:
        self._thread.start()
        _LOGGER.info("Serving %s on %s", " and ".join(sorted(self.routes)), self.url)
        if "/metrics" not in self.routes:
            _LOGGER.info("No /metrics: %s", _METRICS_HINT.strip())
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; requests in flight finish on their own threads."""
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> MonitoringServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def respond(self, path: str) -> tuple[int, str, bytes]:
        """The answer to a GET of ``path`` (its query string ignored)."""
        handler = self.routes.get(path.split("?", 1)[0])
        if handler is not None:
            try:
                return handler(self.planner)
            except Exception as error:  # a plugin's handler: its failure is a 500, never a dead server
                _LOGGER.error("Monitoring endpoint %s failed: %s", path, redact_text(f"{type(error).__name__}: {error}"))
                return 500, _TEXT, b"Internal error; see the databay log.\n"
        if path.split("?", 1)[0] == "/metrics":
            return 404, _TEXT, _METRICS_HINT.encode()
        listed = "".join(f"  {route}\n" for route in sorted(self.routes))
        return 404, _TEXT, f"Not found. Endpoints:\n{listed}".encode()


def _handler_for(server: MonitoringServer, request_timeout: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "databay"
        timeout = request_timeout  # socketserver sets it on the connection: a silent client is dropped

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            status, content_type, body = server.respond(self.path)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's name)
            _LOGGER.debug("%s %s", self.address_string(), format % args)

    return Handler
