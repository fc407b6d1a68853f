"""Nodes that load and register fine but break the contract, one way each: `databay plugins --check sloppy` must name every problem."""

from __future__ import annotations

import databay
from databay import Inlet, Outlet
from databay.hookspecs import Register


class LeakyInlet(Inlet):
    """Its repr shows the URL it was given, password and all."""

    def __init__(self, url: str):
        super().__init__()
        self.url = url

    def pull(self, update):
        return []

    def __repr__(self) -> str:
        return f"LeakyInlet({self.url})"


class BlockingAsyncInlet(Inlet):
    """Declares blocking (for sync nodes that wait on I/O) on an async pull."""

    blocking = True

    async def pull(self, update):
        return []


class DoubleCloseOutlet(Outlet):
    """Its on_shutdown fails when called a second time."""

    def __init__(self) -> None:
        super().__init__()
        self.connection: list[str] | None = ["open"]

    def on_start(self) -> None:
        self.connection = ["open"]

    def push(self, records, update):
        pass

    def on_shutdown(self) -> None:
        self.connection.clear()  # type: ignore[union-attr]
        self.connection = None


class UntypedOutlet(Outlet):
    """A required constructor parameter without an annotation: a pipeline file cannot know what to give it."""

    def __init__(self, target):
        super().__init__()
        self.target = target

    def push(self, records, update):
        pass


@databay.hookimpl
def register_inlets(register: Register) -> None:
    register(LeakyInlet)
    register(BlockingAsyncInlet)


@databay.hookimpl
def register_outlets(register: Register) -> None:
    register(DoubleCloseOutlet)
    register(UntypedOutlet)
