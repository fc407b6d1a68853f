"""A third-party plugin exactly as an outside author would write one."""

from __future__ import annotations

import click

import databay
from databay import Inlet, Outlet


class CountingInlet(Inlet):
    """Produces ``count`` consecutive integers per transfer, continuing where it stopped."""

    def __init__(self, count: int = 3, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.count = count
        self.next = 0

    def pull(self, update):
        start, self.next = self.next, self.next + self.count
        return list(range(start, self.next))


class MemoryOutlet(Outlet):
    """Keeps every payload pushed to it in ``payloads``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.payloads: list = []

    def push(self, records, update):
        self.payloads.extend(record.payload for record in records)


@databay.hookimpl
def register_inlets(register):
    register(CountingInlet)


@databay.hookimpl
def register_outlets(register):
    register(MemoryOutlet)


@databay.hookimpl
def register_commands(cli):
    @cli.command(name="example-count")
    @click.argument("count", type=int)
    def example_count(count):
        """Run CountingInlet → MemoryOutlet once and print what arrived."""
        outlet = MemoryOutlet()
        databay.Link(CountingInlet(count), outlet, 1).transfer()
        click.echo(" ".join(map(str, outlet.payloads)))
