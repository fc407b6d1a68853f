"""databay's metrics: per-link tallies the observer hooks count into, and (in
:mod:`databay_prometheus.collector`) the collector that turns them into Prometheus metrics when scraped.

Transfers are hot and scrapes rare, so a transfer only adds to a few plain numbers under one
shared lock (held for a few additions; a lock and a list per link would be ten thousand objects
more for each full garbage collection to scan, so durations are an untracked ``array``), and the metric families are built at scrape time (prometheus-client's custom
collector pattern) rather than updating nine metric objects, each with its own lock, per transfer.
The collector lives on a registry of its own, never prometheus-client's global one, so a host
application's metrics and databay's never clash. That registry, ``REGISTRY``, is made on first use
(a scrape, or an import of it): this module, which the observer hooks use, imports nothing of
prometheus-client, so loading the plugin costs a process none of its objects.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from array import array
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from databay.engine.observing import TransferResult

    REGISTRY: CollectorRegistry
    """databay's metrics; ``prometheus_client.generate_latest(REGISTRY)`` renders them."""

__all__ = ["BUCKETS", "REGISTRY", "LinkSeries", "series"]

BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, math.inf)
"""Upper bounds of ``databay_transfer_duration_seconds``' buckets, in seconds."""

_COUNTERS = {  # LinkSeries attribute -> (metric name without _total, help)
    "transfers": ("databay_transfers", "Transfers finished, failed or not."),
    "failures": (
        "databay_transfer_failures",
        "Transfers that did not succeed: raised, went on after a node failure, or spilled records.",
    ),
    "pulled": ("databay_records_pulled", "Records pulled from inlets."),
    "pushed": ("databay_records_pushed", "Records outlets accepted."),
    "rejected": ("databay_records_rejected", "Records outlets refused one by one."),
    "spilled": ("databay_records_spilled", "Records a Delivery spilled, to redeliver later."),
    "retries": ("databay_delivery_retries", "Pushes a Delivery tried again."),
}


class LinkSeries:
    """One link's running figures (label ``link``)."""

    lock = threading.Lock()
    """Shared by every link's series."""

    def __init__(self) -> None:
        self.failures = self.pulled = self.pushed = 0
        self.rejected = self.spilled = self.retries = 0
        self.durations = array("Q", bytes(8 * len(BUCKETS)))  # per bucket, not cumulative
        self.duration_sum = 0.0
        self.last_success: float | None = None

    def finished(self, result: TransferResult) -> None:
        """Count one transfer: the sums and its bucket first, then a few additions under the lock
        (acquired by hand: ``with`` costs a transfer more than all the additions)."""
        duration = result.duration
        bucket = 0 if duration <= BUCKETS[0] else bisect.bisect_left(BUCKETS, duration)  # most take < 0.5 ms
        pulled = sum(result.pulled.values())
        pushed = sum(result.pushed.values())
        succeeded_at = time.time() if result.ok else None
        lock = self.lock
        lock.acquire()
        try:
            self.pulled += pulled
            self.pushed += pushed
            self.durations[bucket] += 1
            self.duration_sum += duration
            if succeeded_at is None:
                self.failures += 1
            else:
                self.last_success = succeeded_at
        finally:
            lock.release()

    @property
    def transfers(self) -> int:
        """Transfers counted: the histogram's count."""
        return sum(self.durations)


_series: dict[str, LinkSeries] = {}
_lock = threading.Lock()


def series(link: str) -> LinkSeries:
    """The figures of the link named ``link``, created (all zero) on first use."""
    found = _series.get(link)
    if found is None:
        with _lock:
            found = _series.setdefault(link, LinkSeries())
    return found


if not TYPE_CHECKING:  # for type checkers REGISTRY is the attribute declared above

    def __getattr__(name: str) -> Any:
        """``REGISTRY``, from :mod:`databay_prometheus.collector`, imported on first use."""
        if name == "REGISTRY":
            from databay_prometheus.collector import REGISTRY

            return REGISTRY
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
