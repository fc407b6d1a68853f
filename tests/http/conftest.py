import pytest

from http_server import SAMPLE_DOCUMENTS, LocalServer, json_app


@pytest.fixture(scope="module")
def server():
    local = LocalServer(json_app(SAMPLE_DOCUMENTS))
    yield local
    local.stop()
