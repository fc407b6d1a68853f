"""A worker killed after its push, before the slot is marked done: the slot runs again, so a
plain outlet gets that push twice, and MongoOutlet with ``slot_ids`` stores it once."""

from __future__ import annotations

import collections

import pytest
from celery_cluster import wait_for

pytest.importorskip("databay_mongo")
mongo_server = pytest.importorskip("mongo_server")


@pytest.fixture
def mongo_uri():
    with mongo_server.mongodb_uri() as uri:
        yield uri


def test_the_one_duplicate_a_killed_worker_can_cause_is_stored_once_by_mongo(cluster, tmp_path, mongo_uri):
    import pymongo

    nodes = cluster(target="cluster_links:mongo_planner", mongodb_uri=mongo_uri, die_after_push=tmp_path / "died")
    victim, survivor = nodes.worker(), nodes.worker()
    scheduler = nodes.scheduler()
    wait_for(lambda: (tmp_path / "died").exists(), 30, "a worker to die after its push")
    killed = wait_for(lambda: [line for line in nodes.delivered() if line["pid"] in (victim.pid, survivor.pid)], 10, "its push")[0]
    dead = victim if killed["pid"] == victim.pid else survivor
    dead.wait(10)
    again = (killed["link"], killed["slot"])
    wait_for(lambda: nodes.counts()[again] == 2, 30, "the slot redelivered")
    assert nodes.stop(scheduler) == 0
    assert nodes.stop(survivor if dead is victim else victim) == 0

    counts = nodes.counts()
    assert [key for key, count in counts.items() if count > 1] == [again]  # the sink: that push twice
    client = pymongo.MongoClient(mongo_uri)
    try:
        ids = [document["_id"] for document in client["databay_celery"]["slots"].find()]
    finally:
        client.close()
    assert collections.Counter(ids).most_common(1)[0][1] == 1  # MongoDB: every slot once
    assert {f"{link}@{slot}#0" for link, slot in counts} <= set(ids)
