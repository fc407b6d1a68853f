"""Planners by name, from installed plugins (``from databay.planners import ApsPlanner``)."""

from databay.plugins import resolve_attribute

__all__: list[str] = []


def __getattr__(name: str) -> type:
    return resolve_attribute("planner", name, __name__)
