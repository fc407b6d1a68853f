"""databay plugin registration for databay-aps."""

from databay import hookimpl
from databay.hookspecs import Register


@hookimpl
def register_planners(register: Register) -> None:
    from databay_aps.aps_planner import APSPlanner, ApsPlanner

    register(ApsPlanner)
    register(APSPlanner)
