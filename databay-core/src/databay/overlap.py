"""What a planner does when a link falls due while its previous transfer is still running.

- ``"skip"`` (default): the due run is skipped, with a warning; one transfer of a link at a time.
- ``"wait"``: the due run waits for the running one to finish, then runs; further runs that fall
  due meanwhile are skipped, so at most one waits.
- ``"concurrent"``: up to ``max_instances`` transfers of one link run at the same time; beyond
  that, due runs are skipped.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["Overlap", "OVERLAP_POLICIES", "instance_limit"]

Overlap = Literal["skip", "wait", "concurrent"]
OVERLAP_POLICIES: tuple[str, ...] = ("skip", "wait", "concurrent")


def instance_limit(overlap: str, max_instances: int) -> int:
    """How many runs of one link may be in progress (running or waiting) under ``overlap``."""
    if overlap not in OVERLAP_POLICIES:
        raise ValueError(f"overlap must be one of {', '.join(OVERLAP_POLICIES)}; got {overlap!r}")
    if overlap == "skip":
        return 1
    if overlap == "wait":
        return 2  # one running, one waiting its turn
    if max_instances < 1:
        raise ValueError(f"max_instances must be at least 1, got {max_instances!r}")
    return max_instances
