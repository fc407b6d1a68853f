import pytest
from aiohttp import web

from http_server import LocalServer, json_app

DOCUMENTS = {
    "/todos": [{"id": 1, "title": "a"}, {"id": 2, "title": "b"}],
    "/todo": {"userId": 1, "id": 1, "title": "delectus aut autem", "completed": False},
    "/text": b"plain text body",
    "/empty": b"",
    "/broken": lambda: web.Response(status=500, text='{"error": "internal"}', content_type="application/json"),
    "/html": b"<html><body>not json</body></html>",
}


@pytest.fixture(scope="module")
def server():
    local = LocalServer(json_app(DOCUMENTS))
    yield local
    local.stop()
