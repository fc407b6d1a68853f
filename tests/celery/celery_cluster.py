"""Real scheduler and worker processes (``databay celery ...``) running the links of
``cluster_links.py`` on one Redis, and polling with a deadline instead of sleeping."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from redis_server import RedisServer

__all__ = ["Cluster", "DATABAY", "wait_for"]

HERE = Path(__file__).parent
DATABAY = str(Path(sys.executable).parent / "databay")


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


class Cluster:
    """Scheduler and worker processes on one Redis, the links of ``cluster_links.py``."""

    def __init__(self, server: RedisServer, folder: Path, target: str = "cluster_links:planner", **settings: object) -> None:
        self.target = target
        self.redis = server.client()
        self.sink = folder / "sink.jsonl"
        self.folder = folder
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
            "DATABAY_TEST_REDIS_URL": server.url,
            "DATABAY_TEST_SINK": str(self.sink),
            **{f"DATABAY_TEST_{key.upper()}": str(value) for key, value in settings.items()},
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    def _spawn(self, command: str, name: str) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{name}-{len(self.processes)}.log", "wb")  # noqa: SIM115 (closed in stop_all)
        process = subprocess.Popen(
            [DATABAY, "celery", command, self.target, "-v"], env=self.env, cwd=HERE,
            stdout=log, stderr=subprocess.STDOUT,
        )
        process.log = log  # type: ignore[attr-defined]
        self.processes.append(process)
        return process

    def scheduler(self) -> subprocess.Popen[bytes]:
        return self._spawn("scheduler", "scheduler")

    def worker(self) -> subprocess.Popen[bytes]:
        process = self._spawn("worker", "worker")

        def up() -> bool:
            if process.poll() is not None:  # no use waiting: say why it ended
                raise AssertionError(f"the worker exited with status {process.returncode} before coming up\n{self.logs()}")
            return bool(self.redis.exists(f"databay:worker:databay-{process.pid}@{os.uname().nodename}"))

        wait_for(up, 60, "the worker to come up")
        return process

    def leader(self) -> int | None:
        value = self.redis.get("databay:leader")
        return None if value is None else int(json.loads(value)["pid"])

    def published(self) -> dict[str, int]:
        """The last slot published per link (the schedulers' watermarks)."""
        return {key.decode().rsplit(":", 1)[1]: int(self.redis.get(key)) for key in self.redis.scan_iter("databay:published:*")}

    def running_in(self, pid: int) -> list[str]:
        """The slots a worker process holds a live claim on (its transfers in flight; after a
        kill -9, the ones it held when it died, until their lease expires). Two round trips, so
        the answer is a few milliseconds old at most, not one Redis call per slot ever run."""
        mark = f"run:databay-{pid}@".encode()
        keys = list(self.redis.scan_iter("databay:slot:*", count=100_000))
        claims = self.redis.mget(keys) if keys else []
        return [key.decode() for key, claim in zip(keys, claims, strict=True) if (claim or b"").startswith(mark)]

    def lines(self) -> list[dict[str, Any]]:
        """The sink's whole lines (a line being written as we read is left for the next read)."""
        if not self.sink.exists():
            return []
        complete, _, _partial = self.sink.read_text().rpartition("\n")
        return [json.loads(line) for line in complete.splitlines()]

    def delivered(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if "slot" in line]

    def events(self, event: str) -> list[int]:
        return [line["pid"] for line in self.lines() if line.get("event") == event]

    def counts(self) -> collections.Counter[tuple[str, int]]:
        return collections.Counter((line["link"], line["slot"]) for line in self.delivered())

    def expected(self, interval_ms: int) -> set[tuple[str, int]]:
        """Every slot of each link's grid from its first delivered slot to the last one published."""
        first: dict[str, int] = {}
        for link, slot in self.counts():
            first[link] = min(first.get(link, slot), slot)
        return {(link, slot) for link, last in self.published().items() for slot in range(first[link], last + 1, interval_ms)}

    def wait_delivered(self, expected: set[tuple[str, int]], timeout: float = 60) -> None:
        """Wait until every slot of ``expected`` is delivered; else fail naming the missing ones, with the logs."""
        try:
            wait_for(lambda: expected <= set(self.counts()), timeout, "every published slot delivered")
        except AssertionError:
            raise AssertionError(f"never delivered: {sorted(expected - set(self.counts()))}\n{self.logs()}") from None

    def stop(self, process: subprocess.Popen[bytes], timeout: float = 60) -> int:
        process.send_signal(signal.SIGTERM)
        return process.wait(timeout)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait()
            process.log.close()  # type: ignore[attr-defined]
        self.redis.close()

    def log_lines(self, process: str, text: str) -> list[str]:
        """The lines of the ``process`` (scheduler, worker) logs that contain ``text``."""
        return [line for path in sorted(self.folder.glob(f"{process}-*.log")) for line in path.read_text().splitlines() if text in line]

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()[-3000:]}" for path in sorted(self.folder.glob("*.log")))
