"""Two scheduler processes on one Redis: one publishes, the other stands by; kill -9 the
leader and the standby publishes within 3 s, every slot of the grid once, none twice.

Times are the Redis server's: the outstanding set scores each slot with the server time it was
published (no worker runs here, so none is finished), so the test's own polling is not counted."""

from __future__ import annotations

import collections
import json
import signal

from celery_cluster import wait_for


def _queued_slots(client):
    """The (link, slot) of every task message waiting in the queue (no worker runs here)."""
    ids = [json.loads(message)["headers"]["id"] for message in client.lrange("databay", 0, -1)]
    return collections.Counter((link, int(slot)) for link, slot in (task_id.split("@") for task_id in ids))


def _server_ms(client):
    seconds, micro = client.time()
    return seconds * 1000 + micro // 1000


def _first_published_after(client, slot_ms):
    """The server time (ms) the first slot later than ``slot_ms`` was published, if any."""
    later = [score for member, score in client.zrange("databay:outstanding", 0, -1, withscores=True)
             if int(member.rsplit(b"@", 1)[1]) > slot_ms]
    return min(later, default=None)


def test_kill_9_of_the_leader_hands_over_within_3s_without_a_slot_twice(cluster):
    nodes = cluster(links=5, interval=0.5, overlap="concurrent")  # every missed slot published (skip coalesces them)
    first, second = nodes.scheduler(), nodes.scheduler()
    leader = wait_for(nodes.leader, 30, "a scheduler to lead")
    leading, standby = (first, second) if leader == first.pid else (second, first)
    wait_for(lambda: len(_queued_slots(nodes.redis)) >= 5 * 4, 30, "a few slots published")

    leading.kill()
    leading.wait()  # dead: it publishes nothing more
    killed_at = _server_ms(nodes.redis)
    before = max(nodes.published().values())
    taken = wait_for(lambda: _first_published_after(nodes.redis, before), 10, "the standby to publish")
    failover = (taken - killed_at) / 1000
    wait_for(lambda: nodes.leader() == standby.pid, 5, "the standby to name itself leader")
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
    nodes = cluster(links=2, interval=0.2, overlap="concurrent")
    first, second = nodes.scheduler(), nodes.scheduler()
    leader = wait_for(nodes.leader, 30, "a scheduler to lead")
    leading, standby = (first, second) if leader == first.pid else (second, first)
    wait_for(lambda: len(_queued_slots(nodes.redis)) >= 4, 30, "a few slots published")
    standby.send_signal(signal.SIGSTOP)  # frozen: nothing it does can hide what the leader does on SIGTERM
    try:
        assert nodes.stop(leading) == 0
        stopped_at = _server_ms(nodes.redis)
        assert not nodes.redis.exists("databay:redbeat::lock"), "the lock was not released on SIGTERM"
        last = max(nodes.published().values())
    finally:
        standby.send_signal(signal.SIGCONT)
    wait_for(lambda: _first_published_after(nodes.redis, last), 10, "the standby to publish")
    handover = (_first_published_after(nodes.redis, last) - stopped_at) / 1000
    assert handover < 1.0, f"the standby took {handover:.2f}s to publish after the leader's exit"
    assert [slot for slot, count in _queued_slots(nodes.redis).items() if count > 1] == []
