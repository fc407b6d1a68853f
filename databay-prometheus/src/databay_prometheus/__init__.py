"""Prometheus metrics for databay links, as a plugin on databay's observer hooks.

``databay run PIPELINE --metrics-port PORT`` serves them at ``/metrics``; in your own process,
expose :data:`REGISTRY` with any prometheus-client exporter.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from databay_prometheus.metrics import REGISTRY
else:

    def __getattr__(name: str) -> Any:
        """``REGISTRY``, made on first use: importing this package imports no prometheus-client."""
        if name == "REGISTRY":
            from databay_prometheus.collector import REGISTRY

            return REGISTRY
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["REGISTRY"]
