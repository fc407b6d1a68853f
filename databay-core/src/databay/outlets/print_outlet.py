"""PrintOutlet: prints each record."""

from __future__ import annotations

from typing import Any, Union

from databay.outlet import Outlet, Processor
from databay.record import Record

__all__ = ["PrintOutlet"]


class PrintOutlet(Outlet):
    """Prints records one by one, prefixed with the transfer's update.

    :param only_payload: print only the payload, not the whole record.
    :param skip_update: leave out the update prefix.
    :param processors: processors of this outlet, as for any :class:`~databay.outlet.Outlet`.
    """

    def __init__(
        self,
        only_payload: bool = False,
        skip_update: bool = False,
        processors: Union[Processor, list[Processor], None] = None,
    ):
        super().__init__(processors)
        self.only_payload = only_payload
        self.skip_update = skip_update

    def push(self, records: list[Record], update: Any) -> None:
        """Print the records."""
        prefix = "" if self.skip_update else f"{update} "
        for record in records:
            print(f"{prefix}{record.payload if self.only_payload else record}")

    def __repr__(self) -> str:
        return f"PrintOutlet(only_payload:{self.only_payload}, skip_update:{self.skip_update})"
