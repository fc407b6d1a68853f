"""NullOutlet: consumes records and does nothing with them."""

from typing import Any

from databay.outlet import Outlet
from databay.record import Record

__all__ = ["NullOutlet"]


class NullOutlet(Outlet):
    """Outlet that doesn't do anything, a no-op."""

    def push(self, records: list[Record], update: Any) -> None:
        """Do nothing."""
