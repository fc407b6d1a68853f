"""The hooks a databay plugin can implement. Plugins decorate their functions with ``databay.hookimpl``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pluggy import HookimplMarker, HookspecMarker

if TYPE_CHECKING:
    import click

__all__ = ["hookspec", "hookimpl", "Register"]

hookspec = HookspecMarker("databay")
hookimpl = HookimplMarker("databay")

Register = Callable[..., None]
"""``register(node_class, name=None)``: make a node class available under its name (or ``name``)."""


@hookspec
def register_inlets(register: Register) -> None:
    """Register Inlet classes by calling ``register(InletClass)``."""


@hookspec
def register_outlets(register: Register) -> None:
    """Register Outlet classes by calling ``register(OutletClass)``."""


@hookspec
def register_planners(register: Register) -> None:
    """Register BasePlanner classes by calling ``register(PlannerClass)``."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add subcommands to the ``databay`` CLI group."""
