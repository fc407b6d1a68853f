"""databay-prometheus's hook implementations: the observer hooks count into each link's
figures, and ``/metrics`` serves them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from databay import hookimpl
from databay.hookspecs import RegisterRoute
from databay.stats import link_name
from databay_prometheus.metrics import _series, series

if TYPE_CHECKING:
    from databay import Link, Outlet, Record, Update
    from databay.base_planner import BasePlanner
    from databay.engine.observing import TransferResult

# Every argument, in the hookspec's order: databay then calls these directly, without adapting.


@hookimpl
def transfer_finished(link: Link, update: Update, result: TransferResult) -> None:
    name = link_name(link)
    (_series.get(name) or series(name)).finished(result)  # series() by hand: it runs on every transfer


@hookimpl
def delivery_retry(link: Link, update: Update, outlet: Outlet, attempt: int, error: BaseException | None, wait: float) -> None:
    figures = series(link_name(link))
    with figures.lock:
        figures.retries += 1


@hookimpl
def records_rejected(link: Link, update: Update, outlet: Outlet, rejected: list[tuple[Record, BaseException]]) -> None:
    figures = series(link_name(link))
    with figures.lock:
        figures.rejected += len(rejected)


@hookimpl
def records_spilled(link: Link, update: Update, outlet: Outlet, count: int) -> None:
    figures = series(link_name(link))
    with figures.lock:
        figures.spilled += count


def metrics(planner: BasePlanner) -> tuple[int, str, bytes]:
    """``/metrics``: every link's figures, in Prometheus' text format."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    from databay_prometheus.collector import REGISTRY

    return 200, CONTENT_TYPE_LATEST, generate_latest(REGISTRY)


@hookimpl
def register_monitoring_routes(register: RegisterRoute) -> None:
    register("/metrics", metrics)
