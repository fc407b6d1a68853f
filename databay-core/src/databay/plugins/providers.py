"""First-party nodes that core does not ship, and what to install to get them.

Hints name the plugin distribution (``pip install databay-aps``), never an extra of ``databay``:
while databay 1.0 is unpublished, ``pip install "databay[aps]"`` would install databay 0.3.0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from databay.errors import NodeNotInstalledError

__all__ = ["NodeKind", "Provider", "PROVIDERS", "install_command"]

NodeKind = Literal["inlet", "outlet", "planner"]


@dataclass(frozen=True)
class Provider:
    """Where a first-party node that core does not ship comes from."""

    kind: NodeKind
    distribution: str
    module: str
    """The module defining the node, which databay 0.3's import path of it now stands for."""

    def not_installed(self, name: str) -> NodeNotInstalledError:
        return NodeNotInstalledError(
            f"{name} is provided by the {self.distribution} distribution, which is not installed. "
            f"Install it with: {install_command(name)}",
            name=name,
        )


# The one place core names first-party plugin nodes: what to install when one is asked for but missing.
PROVIDERS: dict[str, Provider] = {
    "HttpInlet": Provider("inlet", "databay-http", "databay_http.http_inlet"),
    "MongoOutlet": Provider("outlet", "databay-mongo", "databay_mongo.mongo_outlet"),
    "ApsPlanner": Provider("planner", "databay-aps", "databay_aps.aps_planner"),
    "APSPlanner": Provider("planner", "databay-aps", "databay_aps.aps_planner"),
    "SchedulePlanner": Provider("planner", "databay-schedule", "databay_schedule.schedule_planner"),
}


def install_command(*names: str) -> str:
    """The command installing these first-party nodes, e.g. ``pip install databay-http databay-mongo``."""
    return "pip install " + " ".join(dict.fromkeys(PROVIDERS[name].distribution for name in names))
