"""SIGTERM while MongoDB hangs mid-push: `databay run` ends within its shutdown timeout, and its
exit status says what happened to the records in flight."""

import os
import signal
import subprocess
import sys
import time

import pymongo
import pytest
from stalling_proxy import StallingProxy

from mongo_server import mongodb_uri
from planner_checks import wait_for

DATABAY = [sys.executable, "-c", "from databay.cli import cli; cli()"]

PIPELINE = """
[planner]
type = "ApsPlanner"

[[links]]
tags = ["hung"]
interval = "1s"
processors = ["hung_documents:as_documents"]

[[links.inlets]]
type = "RandomIntInlet"

[[links.outlets]]
type = "MongoOutlet"
uri = "{uri}"
database_name = "hung"
collection = "numbers"
timeout = 2
{delivery}
"""


@pytest.fixture
def hung_mongo():
    with mongodb_uri() as uri:
        proxy = StallingProxy(uri)
        proxy.direct = pymongo.MongoClient(uri)["hung"]["numbers"]  # around the proxy: what landed
        yield proxy
        proxy.direct.database.client.close()
        proxy.close()


def sigterm_mid_push(tmp_path, proxy, delivery: str) -> tuple[float, subprocess.CompletedProcess]:
    path = tmp_path / "pipeline.toml"
    path.write_text(PIPELINE.format(uri=proxy.uri, delivery=delivery))
    (tmp_path / "hung_documents.py").write_text(
        "def as_documents(records):\n"
        "    for record in records:\n"
        "        record.payload = {'n': record.payload}\n"
        "    return records\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    command = [*DATABAY, "run", "-v", "--shutdown-timeout", "0.5", str(path)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as process:
        try:
            landed = proxy.direct.count_documents({})
            wait_for(lambda: process.poll() is not None or proxy.direct.count_documents({}) > landed, 30)
            proxy.stalled.set()  # from now on MongoDB answers nothing
            time.sleep(1.5)  # the next transfer, due within the 1 s interval, is now stuck in its push
            sent = time.monotonic()
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=60)
            took = time.monotonic() - sent
        finally:
            process.kill()
    return took, subprocess.CompletedProcess(command, process.returncode, "", stderr)


def test_sigterm_against_a_hung_mongo_spills_and_exits_0_in_time(tmp_path, hung_mongo):
    took, result = sigterm_mid_push(tmp_path, hung_mongo, f'[links.delivery]\nretries = 0\nstate_dir = "{tmp_path}"\n')
    assert took < 0.5 + 2 * 2 + 3, (took, result.stderr)  # shutdown timeout, then Mongo's own (insert + count)
    assert result.returncode == 0, result.stderr
    assert "spilled to disk" in result.stderr


def test_sigterm_against_a_hung_mongo_without_delivery_exits_3_in_time(tmp_path, hung_mongo):
    took, result = sigterm_mid_push(tmp_path, hung_mongo, "")
    assert took < 0.5 + 2 * 2 + 3, (took, result.stderr)
    assert result.returncode == 3, result.stderr
    assert "record(s) lost (exit status 3)" in result.stderr
