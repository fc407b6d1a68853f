"""databay-aps: ApsPlanner, scheduling databay links with APScheduler 3."""

from databay_aps.aps_planner import APSPlanner, ApsPlanner

__all__ = ["ApsPlanner", "APSPlanner"]
