"""A third-party databay plugin, exactly as an outside author would write one.

The ``databay`` entry point in pyproject.toml names this module; databay loads it and calls the
hook implementations below (each marked ``@databay.hookimpl``) to learn what the plugin adds.
"""

from __future__ import annotations

import click

import databay
from databay.hookspecs import Register
from databay_example.nodes import CountingInlet, JsonFeedInlet, MemoryOutlet

__all__ = ["CountingInlet", "JsonFeedInlet", "MemoryOutlet"]


@databay.hookimpl
def register_inlets(register: Register) -> None:
    register(CountingInlet)
    register(JsonFeedInlet)


@databay.hookimpl
def register_outlets(register: Register) -> None:
    register(MemoryOutlet)


@databay.hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.command(name="example-count")
    @click.argument("count", type=int)
    def example_count(count: int) -> None:
        """Run CountingInlet → MemoryOutlet once and print what arrived."""
        outlet = MemoryOutlet()
        databay.Link(CountingInlet(count), outlet, 1).transfer()
        click.echo(" ".join(map(str, outlet.payloads)))
