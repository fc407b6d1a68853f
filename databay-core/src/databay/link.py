"""A link moves records from its inlets to its outlets, once per transfer.

One transfer: pull every inlet (async inlets concurrently, at most ``inlet_concurrency`` at a
time) → link processors → groupers → for each batch, every outlet (a copy of the batch unless
``copy_records=False``, then the outlet's processors, then push).

The transfer itself is one coroutine (:mod:`databay.engine.transfer`); :meth:`Link.transfer`
and :meth:`Link.transfer_async` are its blocking and asyncio entry points.
"""

from __future__ import annotations

import datetime
import itertools
import logging
import warnings
from collections.abc import Callable
from typing import Any, TypeVar, Union, cast

from databay.delivery import Delivery, RejectedRecords
from databay.deprecations import ignore_exceptions_from
from databay.engine.delivering import Deliverer
from databay.engine.transfer import run_blocking, run_transfer
from databay.errors import InvalidNodeError
from databay.inlet import Inlet
from databay.logs import log_failure
from databay.node import Node
from databay.outlet import Outlet
from databay.processing import Grouper, Processor, as_callables
from databay.stats import LinkTally
from databay.support.buffers import Buffer, adopt_buffers
from databay.update import Update

__all__ = ["Link", "Update"]

_LOGGER = logging.getLogger("databay.Link")

Interval = Union[datetime.timedelta, int, float]
N = TypeVar("N", bound=Node)


class Link:
    """Moves records from inlets to outlets every ``interval``.

    :param inlets: inlet or list of inlets.
    :param outlets: outlet or list of outlets.
    :param interval: a ``timedelta``, or seconds as int/float.
    :param tags: tag or list of tags; they prefix each transfer's :class:`Update`.
    :param copy_records: give each outlet its own deep copy of the records.
    :param ignore_exceptions: log an inlet, processor, grouper or outlet failure and let the
        rest of the transfer complete, instead of raising.
    :param catch_exceptions: deprecated alias of ``ignore_exceptions``.
    :param inlet_concurrency: how many async inlets may pull at the same time.
    :param immediate_transfer: whether a planner starting with ``immediate_transfer=True``
        transfers this link once straight away.
    :param processors: processor or list of processors applied to all records.
    :param groupers: grouper or list of groupers splitting records into batches.
    :param name: deprecated; use ``tags``.
    :param delivery: retries, spill, dead letter and checkpoints for this link's outlets
        (:class:`~databay.delivery.Delivery`); without it, a failing push is reported (with
        how many records were not delivered) and its records are not retried, as in 0.3.
    """

    def __init__(
        self,
        inlets: Union[Inlet, list[Inlet]],
        outlets: Union[Outlet, list[Outlet]],
        interval: Interval,
        tags: Union[str, list[str], None] = None,
        copy_records: bool = True,
        ignore_exceptions: bool = False,
        catch_exceptions: bool | None = None,
        inlet_concurrency: int = 9999,
        immediate_transfer: bool = True,
        processors: Union[Processor, list[Processor], None] = None,
        groupers: Union[Grouper, list[Grouper], None] = None,
        name: str | None = None,
        delivery: Delivery | None = None,
    ):
        if name is not None:
            warnings.warn(
                "Link's 'name' parameter is deprecated since 0.2.0; use 'tags' instead.",
                DeprecationWarning,
                stacklevel=2,
            )
            tags = [name]
        ignore_exceptions = ignore_exceptions_from(ignore_exceptions, catch_exceptions, "Link")
        self._tags: list[str] = [tags] if isinstance(tags, str) else list(tags or [])
        self.delivery = delivery
        # Not validated yet, but repr() needs it while validating; _as_timedelta replaces it below.
        self._interval = cast(datetime.timedelta, interval)
        self._inlets: list[Inlet] = []
        self._outlets: list[Outlet] = []
        self._async_nodes = False
        self.add_inlets(inlets)
        self.add_outlets(outlets)
        self._interval = _as_timedelta(interval, self)
        if isinstance(inlet_concurrency, bool) or not isinstance(inlet_concurrency, int) or inlet_concurrency < 1:
            raise ValueError(f"inlet_concurrency of {self!r} must be a positive int, got {inlet_concurrency!r}")
        self.inlet_concurrency = inlet_concurrency
        self.copy_records = copy_records
        self.ignore_exceptions = ignore_exceptions
        self.immediate_transfer = immediate_transfer
        self.processors: list[Processor] = as_callables(processors, "processor", self)
        adopt_buffers(self.processors, self)
        self.groupers: list[Grouper] = as_callables(groupers, "grouper", self)
        self._job: Any = None
        self._transfer_numbers = itertools.count()
        self.undelivered = 0
        """Records this link failed to deliver and did not spill (lost), since it was made."""
        self._deliverer = None if delivery is None else Deliverer(self, delivery)
        self._tally: LinkTally | None = None  # counts for BasePlanner.stats(), once a planner holds the link

    # -- nodes ---------------------------------------------------------------------------

    @property
    def inlets(self) -> list[Inlet]:
        """Inlets of this link."""
        return self._inlets

    @property
    def outlets(self) -> list[Outlet]:
        """Outlets of this link."""
        return self._outlets

    def add_inlets(self, inlets: Union[Inlet, list[Inlet]]) -> None:
        """Add inlets. :raises TypeError: not an Inlet. :raises InvalidNodeError: already added."""
        # mypy rejects an abstract class for type[N] even when it is only given to isinstance (python/mypy#4717)
        self._inlets = self._inlets + self._checked_new(inlets, Inlet, self._inlets, "inlet")  # type: ignore[type-abstract]
        self._refresh_async()

    def remove_inlets(self, inlets: Union[Inlet, list[Inlet]]) -> None:
        """Remove inlets. :raises InvalidNodeError: not in this link."""
        self._inlets = self._without(inlets, self._inlets, "inlet")
        self._refresh_async()

    def add_outlets(self, outlets: Union[Outlet, list[Outlet]]) -> None:
        """Add outlets. :raises TypeError: not an Outlet. :raises InvalidNodeError: already added."""
        self._outlets = self._outlets + self._checked_new(outlets, Outlet, self._outlets, "outlet")  # type: ignore[type-abstract]
        self._refresh_async()

    def remove_outlets(self, outlets: Union[Outlet, list[Outlet]]) -> None:
        """Remove outlets. :raises InvalidNodeError: not in this link."""
        self._outlets = self._without(outlets, self._outlets, "outlet")
        self._refresh_async()

    def _checked_new(self, nodes: object, kind: type[N], present: list[N], role: str) -> list[N]:
        candidates = _as_list(nodes)
        checked: list[N] = []
        for node in candidates:
            if not isinstance(node, kind):
                raise TypeError(f"Provided {role} is not an instance of {kind.__name__}, found: {node!r}")
            if node in present or candidates.count(node) > 1:
                raise InvalidNodeError(f"Link already contains {role}: {node!r}")
            checked.append(node)
        return checked

    def _without(self, nodes: object, present: list[N], role: str) -> list[N]:
        remaining = list(present)
        for node in _as_list(nodes):
            if node not in remaining:
                raise InvalidNodeError(f"Link does not contain {role}: {node!r}")
            remaining.remove(node)
        return remaining

    def _refresh_async(self) -> None:
        """Whether a transfer needs an event loop (async nodes, or a Delivery's backoff sleeps),
        and whether its pulls can all run inline: asked once per change, not per transfer."""
        self._async_inlets = any(inlet.is_async for inlet in self._inlets)
        self._blocking_inlets = self.delivery is not None or any(inlet.blocking for inlet in self._inlets)
        self._async_nodes = (
            self.delivery is not None or self._async_inlets or any(outlet.is_async for outlet in self._outlets)
        )

    # -- scheduling ------------------------------------------------------------------------

    @property
    def interval(self) -> datetime.timedelta:
        """How often this link transfers."""
        return self._interval

    @property
    def tags(self) -> list[str]:
        """Tags of this link."""
        return self._tags

    @property
    def name(self) -> str:
        """Deprecated since 0.2.0: the first tag."""
        warnings.warn("Link.name is deprecated since 0.2.0; use Link.tags.", DeprecationWarning, stacklevel=2)
        return self._tags[0] if self._tags else ""

    @property
    def job(self) -> Any:
        """The scheduler's job for this link, set by the planner."""
        return self._job

    def set_job(self, job: Any) -> None:
        """Record the scheduler's job for this link (planners call this in ``_schedule``)."""
        self._job = job

    @property
    def is_async(self) -> bool:
        """Whether any inlet or outlet is async, so a transfer needs an event loop."""
        return self._async_nodes

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def nodes(self) -> list[Node]:
        """Inlets, then outlets, then the delivery's dead letter outlet if any."""
        dead_letter = self.delivery.dead_letter if self.delivery is not None else None
        return [*self._inlets, *self._outlets, *([dead_letter] if dead_letter is not None else [])]

    def on_start(self) -> None:
        """Start every inlet and outlet that is not active yet (``try_start``), as databay 0.3 did.

        Planners don't call this: their runtime starts each node once however many links and
        planners share it, and shuts it down when the last of them stops.
        """
        for node in self.nodes:
            self._guarded(node.try_start, "on_start", node)

    def on_shutdown(self) -> None:
        """Shut down every active inlet and outlet (``try_shutdown``); one failure skips no other."""
        for node in self.nodes:
            self._guarded(node.try_shutdown, "on_shutdown", node)

    def _guarded(self, call: Callable[[], Any], stage: str, node: Node) -> None:
        try:
            call()
        except Exception as error:
            self._lifecycle_failed(error, stage, node)
            if not self.ignore_exceptions:
                raise

    def _lifecycle_failed(self, error: Exception, stage: str, node: Node) -> None:
        """Log a failing on_start/on_shutdown in databay 0.3's words."""
        role = "inlet" if isinstance(node, Inlet) else "outlet"
        log_failure(_LOGGER, error, '%s %s exception: "%s" for %s: %r, in link: %r', stage, role, error, role, node, self)

    # -- transfer --------------------------------------------------------------------------

    def transfer(self) -> None:
        """Run one transfer and wait for it.

        All-sync links run inline, without an event loop. Links with async nodes run on a fresh
        loop, as ``asyncio.run`` did in databay 0.3 (on a worker thread if this thread is already
        running a loop); asyncio code should ``await`` :meth:`transfer_async` instead.
        """
        run_blocking(run_transfer(self), needs_loop=self._async_nodes)

    async def transfer_async(self) -> None:
        """Run one transfer on the running loop, sharing it (and its pooled connections) with
        other work: sync nodes declaring ``blocking = True`` run in worker threads."""
        await run_transfer(self, offload=True)

    def flush(self) -> None:
        """Release what the Buffers among this link's (and its outlets') processors hold.

        One transfer that pulls nothing, with every buffer set to flush: call it when stopping,
        so no record is left in a buffer.
        """
        self._arm_buffers()
        run_blocking(run_transfer(self, pull=False), needs_loop=self._async_nodes)

    def _holds_records(self) -> bool:
        """Whether a flush at stop has something to save: Buffers, or batches spilled in memory
        only (one more try before they are lost; batches spilled to disk wait for the next run)."""
        deliverer = self._deliverer
        return bool(self._buffers()) or (deliverer is not None and deliverer.lost_at_exit > 0)

    def _lost_at_exit(self) -> int:
        """Records lost if the process ends now: spilled in memory only, or held by a Buffer."""
        return self._buffered() + (0 if self._deliverer is None else self._deliverer.lost_at_exit)

    def _buffered(self) -> int:
        return sum(len(buffer.records) for buffer in self._buffers())

    def _buffers(self) -> list[Buffer]:
        processors = (*self.processors, *(p for outlet in self._outlets for p in outlet.processors))
        return [processor for processor in processors if isinstance(processor, Buffer)]

    def _arm_buffers(self) -> None:
        for buffer in self._buffers():
            buffer.flush = True

    def _next_update(self) -> Update:
        return Update(self._tags, next(self._transfer_numbers))

    def _failed(
        self, error: Exception, stage: str, node: object, update: Update | None, undelivered: int = 0,
        dropped_if_raised: int = 0,
    ) -> None:
        """Log and carry on when ignoring exceptions; otherwise name the node and link, and re-raise.

        ``undelivered``: records a failing outlet did not take; counted, and said in the message.
        ``dropped_if_raised``: records the transfer drops if this failure ends it (a processor's).
        """
        if not self.ignore_exceptions:
            undelivered += dropped_if_raised
        during = f", during: {update}" if update is not None else ""
        if isinstance(error, RejectedRecords):  # the outlet wrote the rest
            undelivered = len(error.rejected)
        if undelivered:
            self.undelivered += undelivered
            during += f"; {undelivered} record(s) not delivered"
        if self.ignore_exceptions:
            log_failure(
                _LOGGER, error, '%s exception: "%s" for %s: %r, in: %r%s', stage.capitalize(), error, stage, node, self,
                during,
            )
            return
        error.add_note(f"databay: raised by {stage} {node!r} in {self!r}{during}")
        raise error

    def __repr__(self) -> str:
        return (
            f"Link(tags:{self._tags}, inlets:{self._inlets}, outlets:{self._outlets}, "
            f"interval:{self._interval})"
        )


def _as_list(nodes: object) -> list[object]:
    """One node or a list/tuple of them, as a new list."""
    return list(nodes) if isinstance(nodes, (list, tuple)) else [nodes]


def _as_timedelta(interval: Interval, link: Link) -> datetime.timedelta:
    if isinstance(interval, datetime.timedelta):
        seconds = interval.total_seconds()
    elif isinstance(interval, (int, float)) and not isinstance(interval, bool):
        seconds = float(interval)
        interval = datetime.timedelta(seconds=interval)
    else:
        raise TypeError(f"interval of {link!r} must be a timedelta or seconds, got {interval!r}")
    if seconds < 0:
        raise ValueError(f"interval of {link!r} must not be negative, got {interval!r}")
    return interval
