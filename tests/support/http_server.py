"""A real aiohttp server on 127.0.0.1 (a free port), run on its own thread for the tests."""

from __future__ import annotations

import asyncio
import json
import ssl
import threading

from aiohttp import web


class LocalServer:
    """Serves ``app`` over HTTP (or HTTPS with ``ssl_context``) until :meth:`stop`."""

    def __init__(self, app: web.Application, ssl_context: ssl.SSLContext | None = None):
        self.app = app
        self.ssl_context = ssl_context
        self.loop = asyncio.new_event_loop()
        self.port = 0
        started = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(started,), daemon=True)
        self.thread.start()
        started.wait(10)

    def _serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.runner = web.AppRunner(self.app, access_log=None)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=self.ssl_context)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        started.set()
        self.loop.run_forever()
        self.loop.close()

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


PEERS = web.AppKey("peers", set)
REQUESTS = web.AppKey("requests", list)


def json_app(documents: dict[str, object]) -> web.Application:
    """An app answering each path with its JSON document, or raw bytes, or a fresh response from a callable."""
    app = web.Application()
    app[PEERS] = set()
    app[REQUESTS] = []

    async def handle(request: web.Request) -> web.Response:
        app[PEERS].add(request.transport.get_extra_info("peername"))
        app[REQUESTS].append(request)
        document = documents.get(request.path)
        if document is None:
            return web.Response(status=404, text="not found")
        if callable(document):
            return document()
        if isinstance(document, bytes):
            return web.Response(body=document)
        return web.Response(text=json.dumps(document), content_type="application/json")

    app.router.add_route("GET", "/{tail:.*}", handle)
    return app


SAMPLE_DOCUMENTS: dict[str, object] = {
    "/todos": [{"id": 1, "title": "a"}, {"id": 2, "title": "b"}],
    "/todo": {"userId": 1, "id": 1, "title": "delectus aut autem", "completed": False},
    "/text": b"plain text body",
    "/empty": b"",
    "/broken": lambda: web.Response(status=500, text='{"error": "internal"}', content_type="application/json"),
    "/html": b"<html><body>not json</body></html>",
}
