"""Delivery: what a link does when an outlet cannot take a batch.

``Link(..., delivery=Delivery(...))`` turns on at-least-once delivery per outlet: each outlet is
acknowledged on its own; a failing push is retried with exponential backoff and jitter; a batch
an outlet still cannot take is spilled to a queue for that (link, outlet) — durable under
``state_dir`` — and redelivered, in order, before newer batches. Records an outlet rejects one by
one (:class:`RejectedRecords`) go to the ``dead_letter`` outlet instead of being retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from databay.outlet import Outlet
    from databay.record import Record

__all__ = ["Delivery", "RejectedRecords"]


@dataclass(frozen=True)
class Delivery:
    """How a link delivers to its outlets.

    :param retries: attempts after the first, per outlet and batch, before spilling.
    :param backoff: ``(first, max)`` seconds between attempts: exponential, with jitter.
    :param state_dir: where spilled batches and inlet checkpoints are kept across runs (SQLite
        in WAL mode, one file per link); without it they are kept in memory.
    :param max_spill: records the link may hold spilled; when full, the link stops pulling
        (and says so at ERROR on every skipped pull) until its outlets catch up.
    :param dead_letter: an outlet for records an outlet rejected one by one, each with metadata
        naming the link, the outlet and the error; without it they are logged at ERROR.
    """

    retries: int = 3
    backoff: tuple[float, float] = (0.5, 30.0)
    state_dir: str | Path | None = None
    max_spill: int = 1_000_000
    dead_letter: Outlet | None = None

    def __post_init__(self) -> None:
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise ValueError(f"Delivery retries must be a non-negative int, got {self.retries!r}")
        first, longest = self.backoff
        if not 0 <= first <= longest:
            raise ValueError(f"Delivery backoff must be (first, max) with 0 <= first <= max, got {self.backoff!r}")
        if isinstance(self.max_spill, bool) or not isinstance(self.max_spill, int) or self.max_spill < 1:
            raise ValueError(f"Delivery max_spill must be a positive int, got {self.max_spill!r}")


class RejectedRecords(Exception):
    """Raised by an outlet that wrote everything it was pushed except ``rejected``.

    :param rejected: ``(record, error)`` pairs the outlet refused one by one (a document the
        database cannot encode, say). They are not retried: they go to the link's dead letter.
    """

    def __init__(self, rejected: list[tuple[Record, BaseException]], message: str | None = None):
        self.rejected = list(rejected)
        first = self.rejected[0][1] if self.rejected else None
        reason = f"{type(first).__name__}: {first}" if first is not None else "none"
        super().__init__(message or f"{len(self.rejected)} record(s) rejected; first: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.rejected, str(self)))
