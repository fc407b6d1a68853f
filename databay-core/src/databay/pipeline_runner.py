"""Running a pipeline: once (for cron), or under its planner until SIGINT/SIGTERM, and what the
run's exit status says about the records."""

from __future__ import annotations

import enum
import logging
import signal
import threading
from typing import TYPE_CHECKING

from databay.logs import log_failure
from databay.monitoring import DEFAULT_HOST, MonitoringServer
from databay.pipeline import Pipeline

if TYPE_CHECKING:
    from databay.base_planner import BasePlanner

__all__ = ["Outcome", "run_once", "run_until_signalled"]

_LOGGER = logging.getLogger("databay.pipeline")


class Outcome(enum.IntEnum):
    """How a run ended, as ``databay run``'s exit status."""

    DELIVERED = 0
    """Every record was delivered, or spilled to disk for the next run."""
    FAILED = 1
    """The planner stopped on an exception (or a ``--once`` transfer failed); nothing was lost."""
    BAD_PIPELINE = 2
    """The pipeline file has problems; nothing ran."""
    LOST = 3
    """Records were lost: not delivered and not spilled to disk (this wins over FAILED)."""


def run_once(pipeline: Pipeline) -> Outcome:
    """Start the nodes, transfer every link once, release what buffers hold, shut down."""
    failed = False
    started = []
    try:
        for link in pipeline.links:
            started.append(link)  # on_shutdown stops whichever of its nodes did start
            link.on_start()
        for link in pipeline.links:
            for step in (link.transfer, link.flush):
                try:
                    step()
                except Exception as error:
                    log_failure(_LOGGER, error, "Transfer of %r failed: %s", link, error)
                    failed = True
    except Exception:  # an on_start failed; the link has logged it
        failed = True
    finally:
        for link in started:
            link.on_shutdown()
    lost = sum(link.undelivered + link._lost_at_exit() for link in pipeline.links)
    return _report(lost, failed)


def run_until_signalled(
    pipeline: Pipeline,
    shutdown_timeout: float | None = 10.0,
    metrics_port: int | None = None,
    metrics_host: str = DEFAULT_HOST,
) -> Outcome:
    """Run the planner until SIGINT/SIGTERM (or until it stops on an exception), then shut down
    gracefully: running transfers finish (cancelled after ``shutdown_timeout`` seconds),
    buffers release what they hold, batches spilled in memory get one more try, nodes shut down.

    With ``metrics_port`` (0: a free one), the monitoring endpoints (``/healthz``, and ``/metrics``
    with databay-prometheus) are served on ``metrics_host`` for as long as the planner runs.
    """
    planner = pipeline.planner
    if planner is None:
        raise ValueError("a pipeline without a [planner] runs only once (run_once)")
    if metrics_port is None:
        return _run_planner(planner, shutdown_timeout)
    try:
        server = MonitoringServer(planner, metrics_port, metrics_host)
    except OSError as error:
        _LOGGER.error("Cannot serve monitoring on %s port %d: %s", metrics_host, metrics_port, error)
        return _report(0, failed=True)
    with server:
        return _run_planner(planner, shutdown_timeout)


def _run_planner(planner: BasePlanner, shutdown_timeout: float | None) -> Outcome:
    stop = threading.Event()
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in (signal.SIGINT, signal.SIGTERM)}
    crashed: list[BaseException] = []

    def start() -> None:
        try:
            planner.start()
        except BaseException as error:  # a planner that cannot even start: a failure, not a success
            log_failure(_LOGGER, error, "%r failed to run: %s", planner, error)
            crashed.append(error)

    worker = threading.Thread(target=start, name="databay-planner")
    try:
        worker.start()
        while worker.is_alive() and not stop.wait(0.1):
            pass
        if stop.is_set():
            _LOGGER.info("Signal received: shutting down %s", planner)
            planner.shutdown(wait=True, timeout=shutdown_timeout, flush_buffers=True)
        worker.join()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return _report(planner.lost_records, planner.exception is not None or bool(crashed))


def _report(lost: int, failed: bool) -> Outcome:
    """The outcome, said in the run's last log line."""
    if lost:
        _LOGGER.error("Run ended: %d record(s) lost (exit status %d)", lost, Outcome.LOST)
        return Outcome.LOST
    if failed:
        _LOGGER.error("Run ended on an exception; no record lost (exit status %d)", Outcome.FAILED)
        return Outcome.FAILED
    _LOGGER.info("Run ended: every record delivered or spilled to disk (exit status %d)", Outcome.DELIVERED)
    return Outcome.DELIVERED
