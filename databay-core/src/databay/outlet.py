"""The consuming end of a link.

.. seealso:: Extending Outlets in the user guide; :class:`~databay.inlet.Inlet` for the other end.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any, Union

from databay.node import Node
from databay.processing import Processor, as_callables
from databay.support.buffers import adopt_buffers

if TYPE_CHECKING:
    from databay.record import Record
    from databay.update import Update

__all__ = ["Outlet", "MetadataKey", "Processor"]


class MetadataKey(str):
    """Marks a class attribute as a metadata key the outlet reads, e.g. ``'CsvOutlet.CSV_FILE'``."""


class Outlet(Node):
    """Consumes records on each transfer. Override :meth:`push`, sync or ``async def``.

    :param processors: processors applied to the records this outlet receives, before push.
    """

    def __init__(self, processors: Union[Processor, list[Processor], None] = None):
        super().__init__()
        self.processors: list[Processor] = as_callables(processors, "processor", self)
        adopt_buffers(self.processors, self)

    @property
    def is_async(self) -> bool:
        """Whether :meth:`push` is a coroutine function."""
        return self._is_coroutine(self.push)

    @abstractmethod
    def push(self, records: list[Record], update: Update) -> Any:
        """Consume ``records`` of the transfer ``update``; raise if they cannot be written."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
