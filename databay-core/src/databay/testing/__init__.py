"""databay's pytest plugin: fixtures for testing nodes and planners against real components.

Installed with core as the ``pytest11`` entry point ``databay`` (disable with ``-p no:databay``):

- ``databay_http_server``: a real aiohttp server on 127.0.0.1 that you give routes to.
- ``databay_mongo``: a real MongoDB-wire server (SecantusDB, or ``DATABAY_TEST_MONGODB_URI``),
  with a fresh database per test.
- ``databay_clock``: simulated time that drives real planners and Buffers without sleeping.

Each fixture imports its library only when a test asks for it, and fails naming the
``pip install`` that provides it when it is missing; core itself never imports this module.
"""

from __future__ import annotations

import importlib
import itertools
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from databay.testing.clock import SimulatedClock
    from databay.testing.http import HttpServer, Route

__all__ = ["MongoDatabase", "databay_clock", "databay_http_server", "databay_mongo", "databay_mongo_uri"]


def _require(fixture: str, module: str, install: str) -> ModuleType:
    """Import ``module`` for ``fixture``, or fail the test with the command that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        pytest.fail(f"the {fixture} fixture needs {error.name}, which is not installed: {install}", pytrace=False)


@pytest.fixture
def databay_http_server() -> Iterator[Callable[..., HttpServer]]:
    """Start real local HTTP servers: ``server = databay_http_server({"/data": [1, 2]})``, then
    ``server.url("/data")``. A route is a handler taking the aiohttp request (sync or async),
    bytes, or a JSON-able value; ``server.add_route(path, route)`` adds one while it runs and
    ``server.requests`` lists what arrived. Every server stops after the test."""
    http = _require("databay_http_server", "databay.testing.http", "pip install aiohttp")
    servers: list[HttpServer] = []

    def start(routes: Mapping[str, Route] | None = None, **options: Any) -> HttpServer:
        server: HttpServer = http.HttpServer(routes, **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def databay_mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The connection string of one MongoDB-wire server for the whole session: SecantusDB stored
    under pytest's temporary directory, or ``DATABAY_TEST_MONGODB_URI`` when set (then SecantusDB
    need not be installed)."""
    from databay.testing.mongo import URI_ENV, mongodb_uri

    if not os.environ.get(URI_ENV):
        _require("databay_mongo", "secantus", "pip install secantusdb")

    with mongodb_uri(str(tmp_path_factory.mktemp("databay-secantus"))) as uri:
        yield uri


@dataclass
class MongoDatabase:
    """What ``databay_mongo`` gives: the server's URI, a client, and a database name of its own."""

    uri: str
    client: Any
    """A ``pymongo.MongoClient`` connected to ``uri``, to look at what landed."""
    name: str

    @property
    def db(self) -> Any:
        """The test's database (``client[name]``)."""
        return self.client[self.name]


_databases = itertools.count()


@pytest.fixture
def databay_mongo(databay_mongo_uri: str) -> Iterator[MongoDatabase]:
    """A fresh database on a real MongoDB-wire server, dropped after the test."""
    pymongo = _require("databay_mongo", "pymongo", "pip install pymongo")
    database = MongoDatabase(databay_mongo_uri, pymongo.MongoClient(databay_mongo_uri), f"databay_test_{next(_databases)}")
    try:
        yield database
    finally:
        database.client.drop_database(database.name)
        database.client.close()


@pytest.fixture
def databay_clock() -> Iterator[SimulatedClock]:
    """Simulated time for the whole test: frozen until ``databay_clock.advance(...)``, which steps
    the planners started with ``databay_clock.running(planner)`` through every due time."""
    _require("databay_clock", "time_machine", 'pip install "time-machine>=3"')
    from databay.testing.clock import SimulatedClock

    with SimulatedClock() as clock:
        yield clock
