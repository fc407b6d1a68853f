"""One thread per worker process renewing the leases of its running transfers and its own
presence, so a process killed with ``kill -9`` leaves marks that expire within one lease."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from databay.redaction import redact_text

__all__ = ["Heartbeat"]

_LOGGER = logging.getLogger("databay.CeleryPlanner")


class Heartbeat:
    """Calls every registered renewal each ``every`` seconds, until :meth:`stop`."""

    def __init__(self, every: float) -> None:
        self._every = every
        self._renewals: dict[int, Callable[[], object]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="databay-celery-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    @contextmanager
    def keeping(self, renew: Callable[[], object]) -> Iterator[None]:
        """Renew with ``renew`` while the block runs."""
        with self._lock:
            self._renewals[id(renew)] = renew
        try:
            yield
        finally:
            with self._lock:
                del self._renewals[id(renew)]

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            with self._lock:
                renewals = list(self._renewals.values())
            for renew in renewals:
                try:
                    renew()
                except Exception as error:  # noqa: BLE001 (Redis away, or anything: the next beat tries again)
                    _LOGGER.warning("heartbeat failed (%s: %s); leases may expire", type(error).__name__, redact_text(str(error)))
