"""The links the cluster tests run, defined in Python (``databay celery worker cluster_links:planner``).

Each record names its link and slot; the sink appends one JSON line per record, with the
worker's PID, to ``$DATABAY_TEST_SINK`` (O_APPEND: whole lines, whichever process writes).
"""

from __future__ import annotations

import json
import os
import signal
import time

from databay import Delivery, Inlet, Link, Outlet
from databay_celery import CeleryPlanner, current_slot


class SlotInlet(Inlet):
    """One record per transfer naming its slot; takes ``DATABAY_TEST_PULL_SECONDS`` to pull."""

    def pull(self, update):
        time.sleep(float(os.environ.get("DATABAY_TEST_PULL_SECONDS", "0")))
        slot = current_slot()
        return {"link": slot.link, "slot": slot.ms}


class SinkOutlet(Outlet):
    """Appends each record as a JSON line; marks its start and shutdown in the same file."""

    def __init__(self):
        super().__init__()
        self.path = os.environ["DATABAY_TEST_SINK"]
        self.failures_left = int(os.environ.get("DATABAY_TEST_FAILING_PUSHES", "0"))

    def _write(self, entry):
        line = (json.dumps(entry) + "\n").encode()
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, line)
        finally:
            os.close(descriptor)

    def on_start(self):
        self._write({"event": "start", "pid": os.getpid()})

    def on_shutdown(self):
        self._write({"event": "shutdown", "pid": os.getpid()})

    def push(self, records, update):
        if self.failures_left:
            self.failures_left -= 1
            raise ConnectionError("the sink is down (a test's failing push)")
        for record in records:
            self._write({**record.payload, "pid": os.getpid(), "at": time.time()})
        die_once = os.environ.get("DATABAY_TEST_DIE_AFTER_PUSH")
        if die_once and not os.path.exists(die_once):  # killed after pushing, before the slot is done
            open(die_once, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)


def planner():
    links_count = int(os.environ.get("DATABAY_TEST_LINKS", "3"))
    interval = float(os.environ.get("DATABAY_TEST_INTERVAL", "1"))
    sink = SinkOutlet()
    delivery = Delivery(retries=3, backoff=(0.05, 0.1)) if sink.failures_left else None
    links = [Link(SlotInlet(), sink, interval, tags=f"link{index:02d}", delivery=delivery) for index in range(links_count)]
    return CeleryPlanner(
        links,
        broker_url=os.environ["DATABAY_TEST_REDIS_URL"],
        redelivery=float(os.environ.get("DATABAY_TEST_REDELIVERY", "25")),
        overlap=os.environ.get("DATABAY_TEST_OVERLAP", "skip"),
        concurrency=int(os.environ.get("DATABAY_TEST_CONCURRENCY", "4")),
    )


def mongo_planner():
    """One link into MongoDB (deterministic ``_id`` per slot and position), then the sink."""
    from databay_celery import slot_ids
    from databay_mongo import MongoOutlet

    mongo = MongoOutlet("databay_celery", "slots", uri=os.environ["DATABAY_TEST_MONGODB_URI"])
    link = Link(SlotInlet(), [mongo, SinkOutlet()], 1, tags="mongo", processors=[slot_ids], ignore_exceptions=True)
    # concurrent: under skip, the redelivered copy of the killed slot is itself skipped (done:skipped,
    # never pushed again) when it lands while the link's next slot runs, as it did in 1 run of 30
    return CeleryPlanner(link, broker_url=os.environ["DATABAY_TEST_REDIS_URL"], redelivery=6, overlap="concurrent")
