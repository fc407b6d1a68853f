"""Looks nodes up while it is imported, as plugins building on others do: the registry is being loaded."""

import databay
import databay.plugins
from databay.planners import ApsPlanner

PRINT_OUTLET = databay.plugins.node_class("outlet", "PrintOutlet")
CLASH_A = databay.plugins.node("clasha:ClashInlet")


class ReentrantPlanner(ApsPlanner):
    """An ApsPlanner subclass, defined at import time."""


@databay.hookimpl
def register_planners(register):
    register(ReentrantPlanner)
