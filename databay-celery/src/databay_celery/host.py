"""Where a worker process runs transfers: a planner that schedules nothing, so each node starts
once in the process and shuts down after the last transfer using it, as under any planner."""

from __future__ import annotations

import contextvars
import logging
import threading
import time

from databay import BasePlanner, Link
from databay.engine.runtime import State
from databay.engine.transfer import run_transfer
from databay.logs import log_failure

__all__ = ["TransferHost"]

_LOGGER = logging.getLogger("databay.CeleryPlanner")


class TransferHost(BasePlanner):
    """Runs one transfer at a time per call, from any thread, on its own event loop and threads.

    The overlap policy is the cluster's (in Redis), so locally every due transfer is admitted.
    """

    def __init__(self, links: list[Link], threads: int):
        super().__init__(links, immediate_transfer=False, overlap="concurrent", max_instances=1_000_000, threads=threads)
        self._thread: threading.Thread | None = None

    def open(self, timeout: float = 60.0) -> None:
        """Start every node (in a thread of its own, which runs the loop) and wait until up.

        :raises RuntimeError: a node failed to start, or the start took longer than ``timeout``.
        """
        thread = self._thread = threading.Thread(target=self.start, name="databay-celery-host", daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        while thread.is_alive() and self.state is not State.RUNNING and time.monotonic() < deadline:
            thread.join(0.01)
        if self.state is not State.RUNNING:
            raise RuntimeError(f"the nodes of {self!r} failed to start: {self.exception!r}")

    def close(self, timeout: float | None) -> None:
        """Let running transfers finish (cancelled after ``timeout``), then shut the nodes down."""
        self.shutdown(wait=True, timeout=timeout)
        if self._thread is not None:
            self._thread.join()

    def run(self, link: Link) -> BaseException | None:
        """Run one transfer of ``link`` and wait for it; its error, or None.

        It runs in the caller's context (contextvars), so nodes see :func:`current_slot`.
        """
        context = contextvars.copy_context()
        return self._runtime.submit(lambda: self._runtime.spawn(self._attempt(link, context)))

    async def _attempt(self, link: Link, context: contextvars.Context) -> BaseException | None:
        try:
            if link.is_async:
                await run_transfer(link, offload=True)
            else:
                await self._runtime.in_thread(context.run, link.transfer)
        except Exception as error:
            log_failure(_LOGGER, error, "Transfer of %r failed: %s: %s", link, type(error).__name__, error)
            return error
        return None

    def _schedule(self, link: Link) -> None:
        """Nothing: the cluster's scheduler publishes the slots."""

    def _unschedule(self, link: Link) -> None:
        """Nothing: the cluster's scheduler publishes the slots."""

    def _start_planner(self) -> None:
        """Nothing to start: tasks arrive through Celery."""

    def _shutdown_planner(self, wait: bool = True) -> None:
        """Nothing to stop: Celery stops taking tasks before the host closes."""

    def __repr__(self) -> str:
        return f"TransferHost(links:{len(self.links)})"
