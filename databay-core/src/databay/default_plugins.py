"""Core's own nodes, observer and monitoring endpoint, registered through the same hooks any plugin uses."""

from __future__ import annotations

from databay.hookspecs import Register, RegisterRoute, hookimpl
from databay.stats import delivery_retry, records_rejected, records_spilled, transfer_finished

__all__ = [
    "register_inlets",
    "register_outlets",
    "register_monitoring_routes",
    # Core's observer, behind BasePlanner.stats() (databay.stats).
    "transfer_finished",
    "delivery_retry",
    "records_rejected",
    "records_spilled",
]


@hookimpl
def register_inlets(register: Register) -> None:
    from databay.inlets.file_inlet import FileInlet
    from databay.inlets.null_inlet import NullInlet
    from databay.inlets.random_int_inlet import RandomIntInlet

    for inlet in (NullInlet, RandomIntInlet, FileInlet):
        register(inlet)


@hookimpl
def register_outlets(register: Register) -> None:
    from databay.outlets.csv_outlet import CsvOutlet
    from databay.outlets.file_outlet import FileOutlet
    from databay.outlets.null_outlet import NullOutlet
    from databay.outlets.print_outlet import PrintOutlet

    for outlet in (NullOutlet, PrintOutlet, FileOutlet, CsvOutlet):
        register(outlet)


@hookimpl
def register_monitoring_routes(register: RegisterRoute) -> None:
    from databay.monitoring import healthz

    register("/healthz", healthz)
