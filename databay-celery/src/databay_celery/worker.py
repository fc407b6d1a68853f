"""A worker process: takes slots from the queue and runs their transfers, each (link, slot) at
most once across the cluster, under the link's overlap policy held cluster-wide.

Messages are acknowledged after the transfer (``acks_late``), so a worker killed mid-transfer
leaves its message unacknowledged: Redis hands it to another worker once the visibility
timeout passes, and that worker finds the dead one's claim expired (its heartbeat stopped) and
runs the slot. A copy handed out while the first run still lives (a transfer longer than the
visibility timeout) finds the claim held and is retried after a lease, until the slot is done.
A task that fails on Redis (or on the worker shutting down) before it finished the slot is
retried after a lease; the scheduler's outstanding set (:mod:`databay_celery.outstanding`)
sends the slot again should even that retry be lost.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid

import redis
from celery import Task  # type: ignore[import-untyped]

from databay.errors import PlannerNotRunningError
from databay.inlet import Inlet
from databay.link import Link
from databay.redaction import redact_text
from databay_celery.coordination import Coordinator
from databay_celery.heartbeat import Heartbeat
from databay_celery.host import TransferHost
from databay_celery.identity import Slot, running_slot
from databay_celery.planner import CeleryPlanner
from databay_celery.settings import TASK_NAME

__all__ = ["SlotRunner", "node_name", "run_worker"]

_LOGGER = logging.getLogger("databay.CeleryPlanner")
_SKIP_LOG_EVERY = 60.0


def node_name() -> str:
    """This process's Celery node name: unique per process, so one host can run many workers."""
    return f"databay-{os.getpid()}@{socket.gethostname()}"


class SlotRunner:
    """Runs the task of one slot in this worker process."""

    def __init__(self, planner: CeleryPlanner, host: TransferHost, coordinator: Coordinator, heartbeat: Heartbeat, name: str):
        self._links = planner.keyed_links()
        self._overlap = planner.overlap
        self._max_instances = planner.max_instances
        self._settings = planner.settings
        self._host = host
        self._coordinator = coordinator
        self._heartbeat = heartbeat
        self._name = name
        self._skips: dict[str, tuple[float, int]] = {}

    def __call__(self, task: Task, link_key: str, slot_ms: int) -> str:
        """Run the slot's transfer unless it is done or skipped; what became of it."""
        link = self._links.get(link_key)
        if link is None:
            _LOGGER.error("%s: no link %r in this worker's pipeline; is every process on the same file?", self._name, link_key)
            return "unknown"
        slot = Slot(link_key, slot_ms)
        try:
            return self._run_slot(task, link, slot)
        except (redis.RedisError, PlannerNotRunningError) as error:  # not finished: ask again after a lease
            _LOGGER.warning("%s not finished (%s: %s); retried in %gs", slot, type(error).__name__, redact_text(str(error)), self._settings.lease)
            raise task.retry(countdown=self._settings.lease, max_retries=None) from error

    def _run_slot(self, task: Task, link: Link, slot: Slot) -> str:
        token = f"{self._name}:{uuid.uuid4().hex[:12]}"
        claim = self._coordinator.take(slot, token)
        if claim == "busy":  # a redelivered copy while the first run lives: ask again after a lease
            raise task.retry(countdown=self._settings.lease, max_retries=None)
        if claim == "done":
            _LOGGER.info("%s already done; not running it again", slot)
            return "duplicate"
        started = time.monotonic()

        def renew() -> None:
            if not self._coordinator.renew(slot, token):
                _LOGGER.error(
                    "%s: this run's claim expired (the worker stalled past its %gs lease); another worker may run the slot too",
                    slot, self._settings.lease,
                )
            self._coordinator.keep(slot.link, token)

        with self._heartbeat.keeping(renew):
            outcome = self._run_admitted(link, slot, token)
        self._coordinator.finish(slot, outcome)
        self._coordinator.record_run(slot, outcome, self._name, time.monotonic() - started)
        return outcome

    def _skipped(self, slot: Slot) -> None:
        """Say so at most once a minute per link in this worker, with how many were skipped."""
        logged, count = self._skips.get(slot.link, (-_SKIP_LOG_EVERY, 0))
        now = time.monotonic()
        if now - logged < _SKIP_LOG_EVERY:
            self._skips[slot.link] = (logged, count + 1)
            return
        self._skips[slot.link] = (now, 0)
        _LOGGER.warning(
            "%s skipped (and %d more of the link since the last note): a transfer of it still runs in the cluster (overlap=%s)",
            slot, count, self._overlap,
        )

    def _run_admitted(self, link: Link, slot: Slot, token: str) -> str:
        coordinator = self._coordinator
        if not coordinator.enter(slot.link, token, self._overlap, self._max_instances):
            self._skipped(slot)
            return "skipped"
        try:
            if self._overlap == "wait":
                while not coordinator.take_turn(slot.link, token):
                    time.sleep(0.05)  # polling Redis for the turn, at most one waits per link
            with running_slot(slot):
                error = self._host.run(link)
        finally:
            coordinator.leave(slot.link, token)
        return "failed" if error is not None else "delivered"


def run_worker(planner: CeleryPlanner, *, concurrency: int | None = None, loglevel: str = "WARNING") -> int:
    """Run a worker for ``planner``'s links until SIGTERM/SIGINT (warm: running transfers
    finish); then shut the nodes down. Returns the exit status."""
    name = node_name()
    app = planner.celery_app()
    threads = concurrency or planner.concurrency
    # a Redis call that hangs must not outlast a heartbeat (and so the lease it renews)
    timeout = planner.settings.heartbeat
    client = redis.Redis.from_url(planner.broker_url, socket_timeout=timeout, socket_connect_timeout=timeout)
    coordinator = Coordinator(client, planner.settings)
    heartbeat = Heartbeat(planner.settings.heartbeat)
    _warn_of_cursors(planner)
    host = TransferHost(planner.links, threads)
    try:
        host.open()
        runner = SlotRunner(planner, host, coordinator, heartbeat, name)

        @app.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
        def transfer(task: Task, link_key: str, slot_ms: int) -> str:
            return runner(task, link_key, slot_ms)

        facts = {"pid": os.getpid(), "host": socket.gethostname(), "concurrency": threads, "started": time.time()}
        worker = app.Worker(
            hostname=name, pool_cls="threads", concurrency=threads, queues=[planner.settings.namespace],
            loglevel=loglevel, quiet=True, without_mingle=True, without_gossip=True, without_heartbeat=True,
        )
        coordinator.alive(name, facts)
        heartbeat.start()
        with heartbeat.keeping(lambda: coordinator.alive(name, facts)):
            worker.start()
    finally:
        host.close(planner.shutdown_timeout)
        heartbeat.stop()
        coordinator.gone(name)
        client.close()
    _LOGGER.info("%s stopped: nodes shut down", name)
    return int(worker.exitcode or 0)


def _warn_of_cursors(planner: CeleryPlanner) -> None:
    """An inlet with a cursor (it overrides :meth:`Inlet.commit`, as FileInlet's line mode does)
    keeps it in each worker process: every worker reads from its own, so records repeat."""
    for key, link in planner.keyed_links().items():
        for inlet in link.inlets:
            if type(inlet).commit is not Inlet.commit:
                _LOGGER.warning(
                    "%s: %r keeps its cursor in each worker process; under CeleryPlanner every worker "
                    "reads from its own, so records repeat across workers", key, inlet,
                )
