"""Real worker processes: kill -9 one mid-transfer and every slot is still delivered; SIGTERM
one and its transfer in flight finishes before its nodes shut down."""

from __future__ import annotations

import os
import signal
import time

from celery_cluster import wait_for

INTERVAL_MS = 1000


def test_kill_9_of_a_worker_mid_transfer_loses_no_slot(cluster):
    # 0.2 s pulls: the two workers left after the kill still run more than the 30 transfers/s due
    nodes = cluster(links=30, interval=1, pull_seconds=0.2, redelivery=6, overlap="concurrent", concurrency=4)
    workers = [nodes.worker() for _ in range(3)]
    schedulers = [nodes.scheduler(), nodes.scheduler()]
    wait_for(lambda: len(nodes.counts()) >= 30 * 8, 60, "eight seconds of slots delivered")

    victim = workers[0]
    # two transfers in flight a few ms before the kill: at least one of them is still running at it
    wait_for(lambda: len(nodes.running_in(victim.pid)) >= 2, 30, "the victim to be mid-transfer")
    os.kill(victim.pid, signal.SIGKILL)
    killed_at = time.time()
    victim.wait()
    in_flight = nodes.running_in(victim.pid)  # the claims it died holding (they outlive it by a lease)
    assert in_flight, "the victim finished its transfers before the kill"
    wait_for(lambda: len(nodes.counts()) >= 30 * 20, 60, "twenty seconds of slots delivered")

    expected = nodes.expected(INTERVAL_MS)
    nodes.wait_delivered(expected, 30)  # the schedulers keep running: the leader sends again a slot whose message Redis lost
    for process in schedulers + workers[1:]:
        assert nodes.stop(process) == 0

    delivered = nodes.delivered()
    counts = nodes.counts()
    assert expected - set(counts) == set(), nodes.logs()
    twice = {key for key, count in counts.items() if count > 1}
    by_victim = {(line["link"], line["slot"]) for line in delivered if line["pid"] == victim.pid}
    assert twice <= by_victim, "a duplicate that no killed worker explains"
    held = {(link, int(slot)) for _, _, link, slot in (key.split(":") for key in in_flight)}
    redelivered = {(line["link"], line["slot"]): line["at"] - killed_at for line in delivered if line["pid"] != victim.pid}
    assert held <= set(redelivered), f"an in-flight slot no other worker ran: {sorted(held - set(redelivered))}"
    redelivered = [redelivered[key] for key in held]
    print(f"{len(expected)} slots, {len(in_flight)} in flight at the kill, redelivered after "
          f"{max(redelivered, default=0):.1f}s, {len(twice)} duplicate(s)")


def test_sigterm_lets_the_transfer_in_flight_finish_then_shuts_nodes_down(cluster):
    nodes = cluster(links=1, interval=1, pull_seconds=2, redelivery=6)
    worker = nodes.worker()
    scheduler = nodes.scheduler()
    in_flight = wait_for(lambda: nodes.running_in(worker.pid), 30, "a transfer in flight")
    worker.send_signal(signal.SIGTERM)
    assert nodes.redis.get(in_flight[0]).startswith(b"run:"), "the transfer ended before the SIGTERM"
    assert worker.wait(60) == 0
    assert nodes.stop(scheduler) == 0
    _, _, link, slot = in_flight[0].split(":")
    lines = nodes.lines()
    pushed = lines.index(next(line for line in lines if (line.get("link"), line.get("slot")) == (link, int(slot))))
    assert nodes.events("shutdown") == [worker.pid]
    assert lines.index({"event": "shutdown", "pid": worker.pid}) > pushed  # nodes shut down after the push
    assert nodes.redis.get(in_flight[0]) == b"done:delivered"


def test_a_failing_push_follows_the_links_delivery_in_the_worker(cluster):
    nodes = cluster(links=2, interval=1, redelivery=6, failing_pushes=3)
    worker = nodes.worker()
    scheduler = nodes.scheduler()
    wait_for(lambda: len(nodes.counts()) >= 2 * 4, 60, "four slots of each link delivered")
    assert nodes.stop(scheduler) == 0
    assert nodes.stop(worker) == 0
    counts = nodes.counts()
    assert nodes.expected(INTERVAL_MS) == set(counts)  # the pushes that failed were retried, none lost
    assert max(counts.values()) == 1
    assert nodes.log_lines("worker", "push to SinkOutlet() failed (attempt 1 of 4)"), nodes.logs()  # logs() holds only tails
