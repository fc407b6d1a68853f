"""Under ``overlap="skip"`` the slots a scheduler missed (a failover, a restart) are coalesced into
the newest: publishing them all at once would have every one but the first skipped anyway."""

from __future__ import annotations

import json
import threading

import pytest
from celery_cluster import wait_for

from databay import Link
from databay.inlets import NullInlet
from databay.outlets import NullOutlet
from databay_celery import CeleryPlanner


def _queued(client):
    ids = [json.loads(message)["headers"]["id"] for message in client.lrange("databay", 0, -1)]
    return sorted(int(task_id.rsplit("@", 1)[1]) for task_id in ids)


@pytest.mark.parametrize(("overlap", "missed_published"), [("skip", False), ("concurrent", True)])
def test_missed_slots_are_coalesced_only_under_skip(redis_server, client, overlap, missed_published):
    planner = CeleryPlanner([Link(NullInlet(), NullOutlet(), 0.5, tags="a")], broker_url=redis_server.url, overlap=overlap)
    seconds, micro = client.time()
    now = seconds * 1000 + micro // 1000
    gap_start = now - now % 500 - 5000  # the last slot published ten slots ago
    client.set("databay:published:a", gap_start)
    thread = threading.Thread(target=planner.start)
    thread.start()
    try:
        queued = wait_for(lambda: _queued(client), 30, "the scheduler to publish")
    finally:
        planner.shutdown()
        thread.join()
    assert (queued[0] == gap_start + 500) is missed_published
    assert missed_published or queued[0] >= gap_start + 5000  # skip: the newest due slot comes first
