"""``REGISTRY`` and its collector: every link's figures (:mod:`databay_prometheus.metrics`) as
Prometheus metric families, built at each scrape.

The only module of databay-prometheus importing prometheus-client. It is imported on first use of
``REGISTRY`` (a ``/metrics`` scrape, or ``from databay_prometheus import REGISTRY``), not when
databay loads the plugin: the observer hooks count into plain numbers and need none of it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from databay_prometheus.metrics import _COUNTERS, BUCKETS, _lock, _series

__all__ = ["REGISTRY"]


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
