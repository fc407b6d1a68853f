"""databay-schedule: SchedulePlanner, scheduling databay links with the schedule library."""

from databay_schedule.schedule_planner import ScheduleIntervalError, SchedulePlanner

__all__ = ["SchedulePlanner", "ScheduleIntervalError"]
