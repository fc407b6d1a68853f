"""databay 0.3's import path of SchedulePlanner, which now ships in databay-schedule."""

from databay.compat import alias_module

alias_module(__name__, "databay_schedule.schedule_planner", "databay-schedule", "schedule")
