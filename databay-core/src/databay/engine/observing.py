"""What observers are told about a transfer (the ``transfer_finished`` hook's ``result``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from databay.inlet import Inlet
    from databay.outlet import Outlet

__all__ = ["TransferResult"]


@dataclass
class TransferResult:
    """What one transfer did: records in per inlet, records out per outlet, how long, how it ended."""

    pulled: dict[Inlet, int] = field(default_factory=dict)
    """Records each inlet produced (inlets that failed are absent)."""
    pushed: dict[Outlet, int] = field(default_factory=dict)
    """Records each outlet accepted (for a Delivery: delivered, not spilled or rejected)."""
    duration: float = 0.0
    """Seconds from start to end (``time.perf_counter``)."""
    error: BaseException | None = None
    """The exception the transfer raised, if it did (ignored failures are logged, not set here)."""

    @property
    def records_pulled(self) -> int:
        return sum(self.pulled.values())

    @property
    def records_pushed(self) -> int:
        return sum(self.pushed.values())
