"""Two scheduler processes on one Redis: one publishes, the other stands by; kill -9 the
leader and the standby publishes within 3 s, every slot of the grid once, none twice."""

from __future__ import annotations

import collections
import json
import os
import signal
import time

import pytest
from celery_cluster import wait_for

pytestmark = pytest.mark.cluster


def _queued_slots(client):
    """The (link, slot) of every task message waiting in the queue (no worker runs here)."""
    ids = [json.loads(message)["headers"]["id"] for message in client.lrange("databay", 0, -1)]
    return collections.Counter((link, int(slot)) for link, slot in (task_id.split("@") for task_id in ids))


def test_kill_9_of_the_leader_hands_over_within_3s_without_a_slot_twice(cluster):
    nodes = cluster(links=5, interval=0.5)
    first, second = nodes.scheduler(), nodes.scheduler()
    leader = wait_for(nodes.leader, 30, "a scheduler to lead")
    standby = second if leader == first.pid else first
    wait_for(lambda: len(_queued_slots(nodes.redis)) >= 5 * 4, 30, "a few slots published")

    os.kill(leader, signal.SIGKILL)
    killed_at = time.monotonic()
    before = max(nodes.published().values())
    wait_for(lambda: nodes.leader() == standby.pid and max(nodes.published().values()) > before, 10, "the standby to publish")
    failover = time.monotonic() - killed_at
    after = max(nodes.published().values())
    wait_for(lambda: min(nodes.published().values()) >= after + 2_000, 10, "two more seconds of slots")
    assert nodes.stop(standby) == 0

    published = _queued_slots(nodes.redis)
    assert failover < 3.0, nodes.logs()
    assert [slot for slot, count in published.items() if count > 1] == []
    for link in {link for link, _ in published}:
        slots = sorted(slot for each, slot in published if each == link)
        assert slots == list(range(slots[0], slots[-1] + 500, 500)), f"{link}: a slot missing from the grid"
    print(f"failover {failover:.2f}s")


def test_sigterm_stops_publishing_at_once_and_releases_the_lock(cluster):
    nodes = cluster(links=2, interval=0.2)
    first, second = nodes.scheduler(), nodes.scheduler()
    leader = wait_for(nodes.leader, 30, "a scheduler to lead")
    leading, standby = (first, second) if leader == first.pid else (second, first)
    wait_for(lambda: len(_queued_slots(nodes.redis)) >= 4, 30, "a few slots published")
    assert nodes.stop(leading) == 0
    wait_for(lambda: nodes.leader() == standby.pid, 3, "the standby to take the released lock")
    assert nodes.stop(standby) == 0
    assert [slot for slot, count in _queued_slots(nodes.redis).items() if count > 1] == []
