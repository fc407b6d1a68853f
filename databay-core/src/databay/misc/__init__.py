"""Tools for people writing their own nodes and planners: ready-made TestCases to subclass."""

from databay.misc.inlet_tester import InletTester
from databay.misc.outlet_tester import OutletTester
from databay.misc.planner_tester import PlannerTester

__all__ = ["InletTester", "OutletTester", "PlannerTester"]
