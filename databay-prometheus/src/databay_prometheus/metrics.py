"""databay's metrics: per-link tallies the observer hooks count into, and the collector that
turns them into Prometheus metrics when scraped.

Transfers are hot and scrapes rare, so a transfer only adds to a few plain numbers under its
link's lock, and the metric families are built at scrape time (prometheus-client's custom
collector pattern) rather than updating nine metric objects, each with its own lock, per transfer.
The collector lives on a registry of its own, never prometheus-client's global one, so a host
application's metrics and databay's never clash.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from databay.engine.observing import TransferResult

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

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.failures = self.pulled = self.pushed = 0
        self.rejected = self.spilled = self.retries = 0
        self.durations = [0] * len(BUCKETS)  # per bucket, not cumulative
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


class _LinkCollector(Collector):
    """Every link's figures as Prometheus metric families, built at each scrape."""

    def collect(self) -> Iterator[Metric]:
        with _lock:
            links = sorted(_series.items())
        counters = {key: CounterMetricFamily(name, text, labels=["link"]) for key, (name, text) in _COUNTERS.items()}
        duration = HistogramMetricFamily("databay_transfer_duration_seconds", "How long transfers took.", labels=["link"])
        last_success = GaugeMetricFamily(
            "databay_last_success_timestamp_seconds", "When the link last transferred successfully (Unix time).",
            labels=["link"],
        )
        for name, figures in links:
            with figures.lock:
                for key, family in counters.items():
                    family.add_metric([name], getattr(figures, key))
                cumulative, buckets = 0, []
                for bound, count in zip(BUCKETS, figures.durations, strict=True):
                    cumulative += count
                    buckets.append(("+Inf" if bound == math.inf else repr(bound), cumulative))
                duration.add_metric([name], buckets, figures.duration_sum)
                if figures.last_success is not None:
                    last_success.add_metric([name], figures.last_success)
        yield from counters.values()
        yield duration
        yield last_success


REGISTRY = CollectorRegistry()
"""databay's metrics; ``prometheus_client.generate_latest(REGISTRY)`` renders them."""
REGISTRY.register(_LinkCollector())
