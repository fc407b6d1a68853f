"""NullInlet: produces nothing."""

from typing import Any

from databay.inlet import Inlet

__all__ = ["NullInlet"]


class NullInlet(Inlet):
    """Inlet that doesn't produce anything, a no-op."""

    def pull(self, update: Any) -> list[Any]:
        """Produce no records."""
        return []
