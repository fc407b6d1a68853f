"""Processors that tie records to their slot, for outlets that can make a redelivered push harmless."""

from __future__ import annotations

from databay.record import Record
from databay_celery.identity import current_slot

__all__ = ["slot_ids"]


def slot_ids(records: list[Record]) -> list[Record]:
    """Give each dict payload a deterministic ``_id``: ``link@slot_ms#position``.

    With MongoOutlet, a slot's transfer run twice (a worker killed after pushing, before
    marking the slot done) then stores each record once. Outside a worker, records pass unchanged.
    """
    slot = current_slot()
    if slot is None:
        return records
    for position, record in enumerate(records):
        if isinstance(record.payload, dict):
            record.payload["_id"] = f"{slot.link}@{slot.ms}#{position}"
    return records
