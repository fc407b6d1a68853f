"""The leader publishes due slots in batches (one compare-and-set call per batch, slot by slot):
a slot whose watermark is already past is not sent, a stop or a failed send mid-batch withdraws
the slots moved and not sent (the next leader publishes them, once), a failed send stays
outstanding. In-process schedulers on a real Redis; no worker (the tasks stay queued)."""

from __future__ import annotations

import collections
import datetime
import json
import threading
import time
from typing import Any

import pytest
from redbeat.schedulers import LUA_EXTEND_TO_SCRIPT, RedBeatSchedulerEntry, get_redis

from databay_celery import CeleryPlanner
from databay_celery.identity import Slot
from databay_celery.scheduler import LinkScheduler, SchedulerService

INTERVAL = 1000


def _queued(client) -> collections.Counter[tuple[str, int]]:
    ids = [json.loads(message)["headers"]["id"] for message in client.lrange("databay", 0, -1)]
    return collections.Counter((link, int(ms)) for link, ms in (task_id.rsplit("@", 1) for task_id in ids))


def _server_ms(client) -> int:
    seconds, micro = client.time()
    return seconds * 1000 + micro // 1000


class Leader:
    """One in-process scheduler of ``links`` links at 1 s, holding the lock (as SchedulerService does)."""

    def __init__(self, url: str, links: int, coalesce: bool = False) -> None:
        planner = CeleryPlanner(broker_url=url)
        self.app = planner.celery_app()
        self.settings = planner.settings
        self.links = [f"link{index:03d}" for index in range(links)]
        SchedulerService(self.app, self.settings, dict.fromkeys(self.links, datetime.timedelta(milliseconds=INTERVAL)), coalesce)
        self.stop = threading.Event()
        self.scheduler = LinkScheduler(self.app, self.settings, self.stop, coalesce)
        client = get_redis(self.app)
        lock = client.lock(self.scheduler.lock_key, timeout=self.scheduler.lock_timeout)
        lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)
        assert lock.acquire(blocking=False)
        self.scheduler.lock = lock
        self.scheduler.setup_schedule()
        self.closed = False
        schedule = self.app.redbeat_conf.schedule_key
        client.zadd(schedule, dict.fromkeys(client.zrange(schedule, 0, -1), 0))  # every entry due now (a new one is due in 1 s)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.scheduler.close()


@pytest.fixture
def leaders(redis_server):
    made: list[Leader] = []

    def make(links: int, coalesce: bool = False) -> Leader:
        made.append(Leader(redis_server.url, links, coalesce))
        return made[-1]

    yield make
    for leader in made:
        leader.close()


def _missed(client, links: list[str], slots: int) -> int:
    """Set every link's watermark ``slots`` slots back, so a tick has that many due per link; the
    newest due slot (ms)."""
    now = _server_ms(client)
    newest = now - now % INTERVAL
    for link in links:
        client.set(f"databay:published:{link}", newest - slots * INTERVAL)
    return newest


def test_publish_many_moves_each_slot_in_turn_and_skips_one_already_past(client):
    from databay_celery.outstanding import Outstanding
    from databay_celery.settings import ClusterSettings

    outstanding = Outstanding(client, ClusterSettings())
    client.set("databay:published:b", 3000)  # b's 2000 was published by someone else
    replaced = outstanding.publish_many([Slot("a", 1000), Slot("a", 2000), Slot("b", 2000), Slot("c", 5000), Slot("b", 4000)])
    assert replaced == ["", "1000", None, "", "3000"]
    assert outstanding.watermarks(["a", "b", "c", "d"]) == [2000, 4000, 5000, None]
    assert sorted(client.zrange("databay:outstanding", 0, -1)) == [b"a@1000", b"a@2000", b"b@4000", b"c@5000"]

    client.set("databay:published:c", 6000)  # c moved on since: its slot stays outstanding
    assert outstanding.withdraw([(Slot("a", 1000), ""), (Slot("a", 2000), "1000"), (Slot("b", 4000), "3000"), (Slot("c", 5000), "")]) == 3
    assert outstanding.watermarks(["a", "b", "c"]) == [None, 3000, 6000]
    assert client.zrange("databay:outstanding", 0, -1) == [b"c@5000"]


def test_a_slot_already_past_its_watermark_in_a_batch_is_not_sent_and_the_rest_are(client, leaders):
    leader = leaders(5)
    newest = _missed(client, leader.links, 3)
    client.set("databay:published:link002", newest)  # another scheduler published link002's slots
    leader.scheduler.tick()
    queued = _queued(client)
    expected = {(link, newest - back * INTERVAL) for link in leader.links if link != "link002" for back in (2, 1, 0)}
    assert set(queued) >= expected
    assert [key for key, count in queued.items() if count > 1] == []
    assert not [key for key in queued if key[0] == "link002" and key[1] <= newest]


@pytest.mark.parametrize("after", [1, 250])  # in the first batch; in the second
def test_a_stop_mid_batch_sends_not_one_more_slot_and_the_next_leader_publishes_the_rest_once(client, leaders, monkeypatch, after):
    leader = leaders(300)
    newest = _missed(client, leader.links, 1)  # a slot due per link (two if one more falls due): two batches or more
    sends: list[Slot] = []
    send = LinkScheduler._send

    def counted(self: LinkScheduler, slot: Slot, producer: Any, batched: bool = False) -> None:
        send(self, slot, producer, batched)
        sends.append(slot)
        if len(sends) == after:
            leader.stop.set()  # SIGTERM, between two sends

    monkeypatch.setattr(LinkScheduler, "_send", counted)
    leader.scheduler.tick()
    assert len(sends) == after
    assert sum(_queued(client).values()) == after
    published = {slot.link: slot.ms for slot in sends}
    for link in leader.links:  # sent: the watermark is the slot; withdrawn: back where it was
        assert int(client.get(f"databay:published:{link}")) == published.get(link, newest - INTERVAL)
    assert client.zcard("databay:outstanding") == after
    leader.close()

    monkeypatch.setattr(LinkScheduler, "_send", send)
    leaders(300).scheduler.tick()  # the next leader
    queued = _queued(client)
    assert {(link, newest) for link in leader.links} <= set(queued)
    assert [key for key, count in queued.items() if count > 1] == []


def test_a_send_failing_mid_batch_stays_outstanding_and_the_rest_of_the_batch_is_withdrawn(client, leaders, monkeypatch, caplog):
    leader = leaders(10)
    newest = _missed(client, leader.links, 1)
    send_task = leader.app.send_task
    calls: list[str] = []

    def failing(name: str, **options: Any) -> Any:
        calls.append(options["task_id"])
        if len(calls) == 4:
            raise OSError("the broker is gone (a test's failing send)")
        return send_task(name, **options)

    monkeypatch.setattr(leader.app, "send_task", failing)
    with pytest.raises(OSError, match="a test's failing send"):
        leader.scheduler.tick()
    link, ms = calls[-1].rsplit("@", 1)
    assert len(calls) == 4
    assert sum(_queued(client).values()) == 0  # kombu discarded the batch: none of it reached Redis
    assert client.zrange("databay:outstanding", 0, -1) == [calls[-1].encode()]  # the failed send stays outstanding
    assert int(client.get(f"databay:published:{link}")) == int(ms)
    assert all(int(client.get(f"databay:published:{each}")) == newest - INTERVAL for each in leader.links if each != link)
    assert f"{Slot(link, int(ms))} was not sent" in caplog.text

    monkeypatch.setattr(leader.app, "send_task", send_task)
    leader.scheduler.tick()  # the next tick publishes the withdrawn ones, each once; the failed one waits for redelivery
    queued = _queued(client)
    assert {(each, newest) for each in leader.links if each != link} <= set(queued)
    assert (link, int(ms)) not in queued
    assert [key for key, count in queued.items() if count > 1] == []


def test_a_batch_the_broker_refuses_stays_outstanding_slot_by_slot(client, leaders, caplog):
    leader = leaders(10)
    newest = _missed(client, leader.links, 1)
    client.execute_command("ACL", "SETUSER", "default", "-lpush")  # kombu's send: the batch's pipeline fails
    try:
        with pytest.raises(Exception):  # noqa: B017,PT011 (kombu's BatchPublishError: the service logs it and retries)
            leader.scheduler.tick()
    finally:
        client.execute_command("ACL", "SETUSER", "default", "+lpush")
    assert client.llen("databay") == 0
    slots = [(link, int(ms)) for link, ms in (member.decode().rsplit("@", 1) for member in client.zrange("databay:outstanding", 0, -1))]
    assert {(link, newest) for link in leader.links} <= set(slots)  # none withdrawn: any may have reached Redis
    for link, ms in slots:
        assert f"{Slot(link, ms)} was not sent" in caplog.text
        assert int(client.get(f"databay:published:{link}")) >= ms


def test_storing_the_links_entries_as_it_takes_the_lock_does_not_cost_the_lock(client, leaders, monkeypatch):
    save = RedBeatSchedulerEntry.save

    def slow(self: RedBeatSchedulerEntry) -> RedBeatSchedulerEntry:  # as a few thousand links take
        time.sleep(0.4)
        return save(self)

    monkeypatch.setattr(RedBeatSchedulerEntry, "save", slow)
    leader = leaders(6)  # 2.4 s of storing entries; the lock lasts 2 s unless extended
    leader.scheduler.tick()  # LockError had the lock expired meanwhile
    assert {link for link, _ in _queued(client)} == set(leader.links)
