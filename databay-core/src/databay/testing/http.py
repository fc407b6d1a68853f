"""A real aiohttp server on 127.0.0.1 (a free port), run on its own thread and loop, for tests.

Tests talk to it over real sockets, so an HTTP node is tested exactly as it runs: no mocked client.
Needs aiohttp (``pip install aiohttp``); :mod:`databay.testing` imports this module only when a
test asks for the ``databay_http_server`` fixture.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import ssl
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Union

from aiohttp import web

__all__ = ["PEERS", "REQUESTS", "HttpServer", "LocalServer", "Route", "json_app"]

Handler = Callable[[web.Request], Union[web.StreamResponse, Awaitable[web.StreamResponse]]]
Route = Union[Handler, bytes, object]
"""What a path answers: a handler taking the request (sync or async) returning a response,
raw bytes, or any other value served as a JSON document."""

PEERS = web.AppKey("peers", set)
"""The client addresses that connected to a :func:`json_app` (to count connections)."""
REQUESTS = web.AppKey("requests", list)
"""Every request a :func:`json_app` received, oldest first."""


class LocalServer:
    """Serves ``app`` over HTTP (or HTTPS with ``ssl_context``) until :meth:`stop`."""

    def __init__(self, app: web.Application, ssl_context: ssl.SSLContext | None = None):
        self.app = app
        self.ssl_context = ssl_context
        self.loop = asyncio.new_event_loop()
        self.port = 0
        started = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(started,), daemon=True, name="databay-http-server")
        self.thread.start()
        if not started.wait(10):
            raise RuntimeError("the local HTTP server did not start within 10 s")

    def _serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.runner = web.AppRunner(self.app, access_log=None)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=self.ssl_context)
        self.loop.run_until_complete(site.start())
        self.port = self.runner.addresses[0][1]
        started.set()
        self.loop.run_forever()
        self.loop.close()

    @property
    def url(self) -> str:
        """The server's base URL, without a trailing slash."""
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Close every connection, stop the loop and join its thread."""
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def json_app(routes: Mapping[str, Route]) -> web.Application:
    """An app answering each GET/POST/... path from ``routes`` (looked up per request, so routes
    added to the mapping later are served too); any other path is a 404."""
    app = web.Application()
    app[PEERS] = set()
    app[REQUESTS] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        app[PEERS].add(request.transport.get_extra_info("peername") if request.transport else None)
        app[REQUESTS].append(request)
        if request.path not in routes:
            return web.Response(status=404, text="not found")
        route = routes[request.path]
        if callable(route):
            response = route(request)
            return await response if inspect.isawaitable(response) else response
        if isinstance(route, bytes):
            return web.Response(body=route)
        return web.Response(text=json.dumps(route), content_type="application/json")

    app.router.add_route("*", "/{tail:.*}", handle)
    return app


class HttpServer:
    """What the ``databay_http_server`` fixture gives: a running :class:`LocalServer` whose routes
    can be added while it runs, and the requests it received."""

    def __init__(self, routes: Mapping[str, Route] | None = None, ssl_context: ssl.SSLContext | None = None):
        self.routes: dict[str, Route] = dict(routes or {})
        self.server = LocalServer(json_app(self.routes), ssl_context)

    def add_route(self, path: str, route: Route) -> None:
        """Serve ``route`` at ``path`` from now on (see :data:`Route`)."""
        self.routes[path] = route

    def url(self, path: str = "/") -> str:
        """The absolute URL of ``path`` on this server."""
        return self.server.url + (path if path.startswith("/") else "/" + path)

    @property
    def requests(self) -> list[web.Request]:
        """Every request received so far, oldest first."""
        return self.server.app[REQUESTS]

    def stop(self) -> None:
        """Stop serving (the fixture does this after the test)."""
        self.server.stop()
