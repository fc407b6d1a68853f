"""The hooks a databay plugin can implement.

A plugin is a module named by an entry point in the ``databay`` group; it decorates the functions
below (same names, any subset of the arguments) with ``databay.hookimpl``. Registration hooks run
once, on the first lookup of a node or command. Observer hooks run on every transfer, on the thread
or event loop running it: keep them fast, never block, and never raise (a raising observer is
logged and the transfer goes on). ``databay plugins --hooks`` prints this documentation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pluggy import HookimplMarker, HookspecMarker

if TYPE_CHECKING:
    import click

    from databay.base_planner import BasePlanner
    from databay.engine.observing import TransferResult
    from databay.link import Link
    from databay.outlet import Outlet
    from databay.record import Record
    from databay.update import Update

__all__ = ["hookspec", "hookimpl", "Register", "RouteHandler", "RegisterRoute"]

hookspec = HookspecMarker("databay")
hookimpl = HookimplMarker("databay")

Register = Callable[..., None]
"""``register(node_class, name=None)``: make a node class available under its name (or ``name``)."""

RouteHandler = Callable[["BasePlanner"], tuple[int, str, bytes]]
"""``handler(planner) -> (status, content_type, body)`` for one monitoring endpoint."""

RegisterRoute = Callable[[str, RouteHandler], None]
"""``register(path, handler)``: serve ``handler`` at ``path`` (e.g. ``"/metrics"``)."""


# Registration: once per process, on the first lookup.


@hookspec
def register_inlets(register: Register) -> None:
    """Register Inlet subclasses: call ``register(InletClass)`` (or ``register(cls, name="Other")``) for each."""


@hookspec
def register_outlets(register: Register) -> None:
    """Register Outlet subclasses: call ``register(OutletClass)`` (or ``register(cls, name="Other")``) for each."""


@hookspec
def register_planners(register: Register) -> None:
    """Register BasePlanner subclasses: call ``register(PlannerClass)`` for each."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click subcommands to the ``databay`` group (``@cli.command()``); core's own names are reserved."""


@hookspec
def register_monitoring_routes(register: RegisterRoute) -> None:
    """Add endpoints to the HTTP server of ``databay run --metrics-port``: ``register(path, handler)``."""


# Observers: on every transfer, on the thread or loop that runs it.


@hookspec
def transfer_started(link: Link, update: Update) -> None:
    """A transfer of ``link`` begins; ``update`` identifies it (its tags and transfer number)."""


@hookspec
def transfer_finished(link: Link, update: Update, result: TransferResult) -> None:
    """A transfer ended (a cancelled one too): ``result`` has records in and out per node, its duration,
    the error it raised and the failures it went on after. Read it during the call: the errors are dropped after."""


@hookspec
def delivery_retry(link: Link, update: Update, outlet: Outlet, attempt: int, error: BaseException | None, wait: float) -> None:
    """A push under a Delivery failed and will be tried again after ``wait`` seconds (``attempt`` counts from 1)."""


@hookspec
def records_rejected(link: Link, update: Update, outlet: Outlet, rejected: list[tuple[Record, BaseException]]) -> None:
    """``outlet`` refused these records one by one (each with its error); they go to the dead letter, if any."""


@hookspec
def records_spilled(link: Link, update: Update, outlet: Outlet, count: int) -> None:
    """``count`` records ``outlet`` could not take yet were spilled, to be redelivered later."""
