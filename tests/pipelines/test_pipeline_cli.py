"""`databay run` end to end: the real CLI in a subprocess, real local HTTP and MongoDB-wire servers."""

import os
import signal
import subprocess
import sys

import pymongo
import pytest

from http_server import REQUESTS, LocalServer, json_app
from mongo_server import mongodb_uri
from planner_checks import run_until

DOCUMENTS = [{"kind": "todo", "n": 1}, {"kind": "todo", "n": 2}]
DATABAY = [sys.executable, "-c", "from databay.cli import cli; cli()"]


@pytest.fixture(scope="module")
def services():
    server = LocalServer(json_app({"/todos": DOCUMENTS}))
    with mongodb_uri() as uri:
        yield server, uri
    server.stop()


@pytest.fixture
def job(services, tmp_path):
    """Writes a pipeline: HttpInlet → MongoOutlet on ApsPlanner, the URI from the environment."""
    server, uri = services
    database = f"pipeline_{tmp_path.name}"[:60]

    def write(extra_link: str = "", interval: str = "200ms") -> str:
        path = tmp_path / "pipeline.toml"
        path.write_text(f"""
[planner]
type = "ApsPlanner"

[[links]]
tags = ["http_to_mongo"]
interval = "{interval}"
{extra_link}

[[links.inlets]]
type = "HttpInlet"
url = "{server.url}/todos"

[[links.outlets]]
type = "MongoOutlet"
uri = "${{TEST_MONGODB_URI}}"
database_name = "{database}"
collection = "todos"
""")
        return str(path)

    client = pymongo.MongoClient(uri)
    yield write, client[database]["todos"], {**os.environ, "TEST_MONGODB_URI": uri}, server
    client.drop_database(database)
    client.close()


def test_pipeline_runs_lands_documents_and_stops_on_sigterm(job):
    write, collection, env, _ = job
    result = run_until(
        [*DATABAY, "run", "-v", write()], lambda out, err: collection.count_documents({}) >= 6,
        stop_signal=signal.SIGTERM, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert collection.count_documents({}) >= 6
    assert set(collection.distinct("n")) == {1, 2}
    assert "Shutting down ApsPlanner" in result.stderr


def test_once_transfers_each_link_once(job):
    write, collection, env, _ = job
    result = subprocess.run([*DATABAY, "run", "--once", write()], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert sorted(collection.distinct("n")) == [1, 2] and collection.count_documents({}) == 2


def test_sigterm_releases_everything_a_buffer_holds(job):
    write, collection, env, server = job
    served_before = len(server.app[REQUESTS])
    pipeline = write('[links.buffer]\ncount_threshold = 100000\ntime_threshold = "1h"', interval="100ms")
    result = run_until(
        [*DATABAY, "run", pipeline], lambda out, err: len(server.app[REQUESTS]) - served_before >= 5,
        stop_signal=signal.SIGTERM, env=env,
    )
    assert result.returncode == 0, result.stderr
    served = len(server.app[REQUESTS]) - served_before
    assert collection.count_documents({}) == 2 * served  # every pulled record was written


def test_check_only_validates(job):
    write, collection, env, _ = job
    result = subprocess.run([*DATABAY, "run", "--check", write()], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0 and "OK (1 link(s), planner ApsPlanner(threads:30))" in result.stdout
    assert collection.count_documents({}) == 0


def test_the_examples_validate():
    from pathlib import Path

    for pipeline in sorted((Path(__file__).parents[2] / "examples" / "pipelines").glob("*.toml")):
        result = subprocess.run([*DATABAY, "run", "--check", str(pipeline)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, (pipeline, result.stderr)


def test_init_writes_a_pipeline_that_runs_once(tmp_path):
    created = subprocess.run([*DATABAY, "init", "starter.toml"], cwd=tmp_path, capture_output=True, text=True)
    assert created.returncode == 0
    result = subprocess.run([*DATABAY, "run", "--once", "starter.toml"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("random_ints.0 ")
    again = subprocess.run([*DATABAY, "init", "starter.toml"], cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 2 and "already exists" in again.stderr
