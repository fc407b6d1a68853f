"""What happens when a link falls due while its previous transfer is still running.

- ``"skip"`` (default): the due run is skipped; one transfer of a link at a time.
- ``"wait"``: the due run waits for the running one to finish, then runs; further runs that fall
  due meanwhile are skipped, so at most one waits.
- ``"concurrent"``: up to ``max_instances`` transfers of one link run at the same time; beyond
  that, due runs are skipped.

Implemented once, here, for every planner: a runtime keeps one :class:`OverlapGate` per link.
Skips are logged as one databay line, at most once a minute per link with a count.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    from databay.link import Link

__all__ = ["Overlap", "OVERLAP_POLICIES", "instance_limit", "OverlapGate"]

Overlap = Literal["skip", "wait", "concurrent"]
OVERLAP_POLICIES: tuple[str, ...] = ("skip", "wait", "concurrent")

T = TypeVar("T")
_LOGGER = logging.getLogger("databay.BasePlanner")
_SKIP_LOG_EVERY = 60.0


def instance_limit(overlap: str, max_instances: int) -> int:
    """How many runs of one link may be in progress (running or waiting) under ``overlap``."""
    if overlap not in OVERLAP_POLICIES:
        raise ValueError(f"overlap must be one of {', '.join(OVERLAP_POLICIES)}; got {overlap!r}")
    if overlap == "skip":
        return 1
    if overlap == "wait":
        return 2  # one running, one waiting its turn
    if isinstance(max_instances, bool) or not isinstance(max_instances, int) or max_instances < 1:
        raise ValueError(f"max_instances must be a positive int, got {max_instances!r}")
    return max_instances


class OverlapGate:
    """Admits or skips one link's due transfers; lives on one event loop (no locks needed)."""

    def __init__(self, link: Link, overlap: Overlap, max_instances: int) -> None:
        self.link = link
        self._overlap = overlap
        self._limit = instance_limit(overlap, max_instances)
        self._turn = asyncio.Lock() if overlap == "wait" else None
        self._in_progress = 0
        self._oldest_start = 0.0
        self._skipped = 0
        self._skip_logged = -_SKIP_LOG_EVERY

    @property
    def in_progress(self) -> int:
        """Transfers of this link running or waiting their turn."""
        return self._in_progress

    def admit(self) -> bool:
        """Whether a due transfer may go ahead now; a refusal is counted and logged (rate-limited)."""
        if self._in_progress < self._limit:
            return True
        self._skipped += 1
        now = time.monotonic()
        if now - self._skip_logged >= _SKIP_LOG_EVERY:
            _LOGGER.warning(
                "%s skipped %d due transfer(s): the previous one has been running for %.1fs (overlap=%s)",
                self.link.tags or self.link, self._skipped, now - self._oldest_start, self._overlap,
            )
            self._skip_logged, self._skipped = now, 0
        return False

    def enter(self) -> None:
        """An admitted transfer starts (or starts waiting its turn)."""
        if not self._in_progress:
            self._oldest_start = time.monotonic()
        self._in_progress += 1

    def leave(self) -> None:
        """An admitted transfer is over."""
        self._in_progress -= 1

    def wrap(self, transfer: Coroutine[Any, Any, T]) -> Coroutine[Any, Any, T]:
        """The transfer as it must run: taking turns under ``"wait"``, as it is otherwise."""
        return transfer if self._turn is None else self._in_turn(transfer)

    async def _in_turn(self, transfer: Coroutine[Any, Any, T]) -> T:
        assert self._turn is not None
        try:
            async with self._turn:
                return await transfer
        finally:
            transfer.close()  # never started if cancelled while waiting: no 'never awaited' warning
