"""databay plugin registration for databay-schedule."""

from databay import hookimpl
from databay.hookspecs import Register


@hookimpl
def register_planners(register: Register) -> None:
    from databay_schedule.schedule_planner import SchedulePlanner

    register(SchedulePlanner)
