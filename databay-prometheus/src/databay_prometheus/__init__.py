"""Prometheus metrics for databay links, as a plugin on databay's observer hooks.

``databay run PIPELINE --metrics-port PORT`` serves them at ``/metrics``; in your own process,
expose :data:`REGISTRY` with any prometheus-client exporter.
"""

from databay_prometheus.metrics import REGISTRY

__all__ = ["REGISTRY"]
