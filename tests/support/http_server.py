"""The shipped local HTTP server (databay.testing.http), and the documents the HTTP tests serve."""

from __future__ import annotations

from aiohttp import web

from databay.testing.http import PEERS, REQUESTS, LocalServer, Route, json_app

__all__ = ["PEERS", "REQUESTS", "SAMPLE_DOCUMENTS", "LocalServer", "json_app"]

SAMPLE_DOCUMENTS: dict[str, Route] = {
    "/todos": [{"id": 1, "title": "a"}, {"id": 2, "title": "b"}],
    "/todo": {"userId": 1, "id": 1, "title": "delectus aut autem", "completed": False},
    "/text": b"plain text body",
    "/empty": b"",
    "/broken": lambda request: web.Response(status=500, text='{"error": "internal"}', content_type="application/json"),
    "/html": b"<html><body>not json</body></html>",
}
