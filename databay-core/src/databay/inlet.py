"""The producing end of a link.

.. seealso:: Extending Inlets in the user guide; :class:`~databay.outlet.Outlet` for the other end.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any

from databay.node import Node
from databay.record import Record, records_sharing

if TYPE_CHECKING:
    from databay.update import Update

__all__ = ["Inlet"]


class Inlet(Node):
    """Produces data on each transfer. Override :meth:`pull`, sync or ``async def``.

    :param metadata: global metadata attached to every record this inlet produces; the dict
        is never modified by the inlet.
    """

    def __init__(self, metadata: dict[str, Any] | None = None):
        super().__init__()
        self._metadata = {} if metadata is None else metadata
        self._label: str | None = None
        self.checkpoint: dict[str, Any] = {}
        """This inlet's committed cursor, a JSON-able dict. Under a Delivery with a state_dir the
        link saves it after each :meth:`commit` and restores it before ``on_start`` next run."""

    def commit(self, update: Update) -> None:
        """Called once every outlet has delivered, or durably spilled, what this inlet produced
        for ``update`` (never earlier): move the cursor kept while pulling into ``checkpoint``.
        Only links with a Delivery call it."""

    @property
    def metadata(self) -> dict[str, Any]:
        """Global metadata attached to each record this inlet produces."""
        return self._metadata

    @property
    def is_async(self) -> bool:
        """Whether :meth:`pull` is a coroutine function."""
        return self._is_coroutine(self.pull)

    @abstractmethod
    def pull(self, update: Update) -> Any:
        """Produce new data for the transfer ``update``.

        Return a list for several records (one per element), anything else for one record,
        or :class:`Record` objects made with :meth:`new_record`. An empty list produces none.
        """

    def new_record(self, payload: Any, metadata: dict[str, Any] | None = None) -> Record:
        """Create a record carrying global metadata, overridden/extended by local ``metadata``."""
        full = {**self._metadata, **metadata} if metadata else dict(self._metadata)
        full["__inlet__"] = self._label or repr(self)
        return Record(payload, full)

    def _begin_pull(self) -> None:
        """Refresh the ``__inlet__`` label once per pull instead of once per record."""
        self._label = repr(self)

    def _to_records(self, data: Any) -> list[Record]:
        """Turn what :meth:`pull` returned into records, per the documented rules."""
        if not isinstance(data, list):
            if isinstance(data, Record):
                return [data]
            data = [data]
        elif not data:
            return []
        metadata = {**self._metadata, "__inlet__": self._label or repr(self)}
        return records_sharing(data, metadata)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(metadata:{self._metadata})"
