"""Running a pipeline: once (for cron), or under its planner until SIGINT/SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading

from databay.pipeline import Pipeline

__all__ = ["run_once", "run_until_signalled"]

_LOGGER = logging.getLogger("databay.pipeline")


def run_once(pipeline: Pipeline) -> bool:
    """Start the nodes, transfer every link once, release what buffers hold, shut down.

    :returns: whether every transfer succeeded (failures are logged).
    """
    succeeded = True
    for link in pipeline.links:
        link.on_start()
    try:
        for link in pipeline.links:
            for step in (link.transfer, link.flush):
                try:
                    step()
                except Exception:
                    _LOGGER.exception("Transfer of %r failed", link)
                    succeeded = False
    finally:
        for link in pipeline.links:
            link.on_shutdown()
    return succeeded


def run_until_signalled(pipeline: Pipeline, shutdown_timeout: float | None = 10.0) -> bool:
    """Run the planner until SIGINT/SIGTERM, then shut down gracefully: running transfers
    finish (those still running after ``shutdown_timeout`` seconds are cancelled; None waits
    for them), buffers release what they hold, nodes' on_shutdown runs.

    :returns: True when stopped by a signal; False when the planner stopped on its own (an error).
    """
    planner = pipeline.planner
    stop = threading.Event()
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in (signal.SIGINT, signal.SIGTERM)}
    worker = threading.Thread(target=planner.start, name="databay-planner")
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
    return stop.is_set()
