"""``databay celery status``: the cluster as Redis sees it, for a person or (``--json``) a machine."""

from __future__ import annotations

import datetime
import time
from typing import Any

import redis

from databay_celery.coordination import Coordinator
from databay_celery.identity import Slot
from databay_celery.planner import CeleryPlanner

__all__ = ["cluster_status", "format_status"]


def cluster_status(planner: CeleryPlanner) -> dict[str, Any]:
    """Workers (node name, PID, host), the queue depth and each link's last run."""
    client = redis.Redis.from_url(planner.broker_url)
    try:
        coordinator = Coordinator(client, planner.settings)
        last = coordinator.last_runs()
        return {
            "leader": coordinator.leader(),
            "workers": coordinator.workers(),
            "queued": coordinator.queue_depth(),
            "links": {key: {"running": coordinator.running(key), "last_run": last.get(key)} for key in planner.keyed_links()},
        }
    finally:
        client.close()


def format_status(status: dict[str, Any]) -> str:
    """The status as short tables."""
    leader = status["leader"]
    leading = "none leading" if leader is None else f"pid {leader['pid']} on {leader['host']} leading"
    lines = [f"scheduler: {leading}", f"workers: {len(status['workers'])}   queued: {status['queued']}"]
    for name, facts in status["workers"].items():
        lines.append(f"  {name}  pid {facts['pid']}  concurrency {facts['concurrency']}")
    lines.append("links:")
    now = time.time()
    for key, link in status["links"].items():
        run = link["last_run"]
        if run is None:
            lines.append(f"  {key}  never ran  running {link['running']}")
            continue
        slot = Slot(key, run["slot"]).time.astimezone(datetime.UTC).strftime("%H:%M:%S.%f")[:-3]
        lines.append(
            f"  {key}  last slot {slot} UTC {run['outcome']} on {run['worker']} in {run['seconds']}s, "
            f"{now - run['at']:.0f}s ago  running {link['running']}"
        )
    return "\n".join(lines)
