"""Looks nodes up while it is imported, as plugins building on others do: the registry is being loaded."""

import databay
import databay.plugins
from databay.planners import SchedulePlanner

PRINT_OUTLET = databay.plugins.node_class("outlet", "PrintOutlet")
CLASH_A = databay.plugins.node("clasha:ClashInlet")


class ReentrantPlanner(SchedulePlanner):
    """A SchedulePlanner subclass, defined at import time."""


@databay.hookimpl
def register_planners(register):
    register(ReentrantPlanner)
