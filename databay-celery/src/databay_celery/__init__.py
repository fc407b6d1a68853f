"""databay-celery: CeleryPlanner, the same pipeline on many workers and machines (Celery, Redis, celery-redbeat)."""

from databay_celery.identity import Slot, current_slot
from databay_celery.planner import CeleryPlanner
from databay_celery.records import slot_ids

__all__ = ["CeleryPlanner", "Slot", "current_slot", "slot_ids"]
