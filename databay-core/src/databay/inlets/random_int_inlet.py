"""RandomIntInlet: one random integer per transfer."""

from __future__ import annotations

import random
from typing import Any

from databay.inlet import Inlet

__all__ = ["RandomIntInlet"]


class RandomIntInlet(Inlet):
    """Produces a random integer between ``min`` and ``max`` (inclusive) on each transfer.

    :param metadata: global metadata of the records, as for any :class:`~databay.inlet.Inlet`.
    """

    def __init__(self, min: int = 0, max: int = 100, metadata: dict[str, Any] | None = None):
        super().__init__(metadata)
        if min > max:
            raise ValueError(f"RandomIntInlet min ({min}) is greater than max ({max})")
        self.min = min
        self.max = max

    def pull(self, update: Any) -> int:
        """Produce one random integer."""
        return random.randint(self.min, self.max)
