"""A link's delivery at run time: per-outlet acknowledgement, retries, spill and redelivery,
dead letters and checkpoint commits (configured by :class:`databay.delivery.Delivery`).

For each batch, each outlet on its own: first the batches spilled for it earlier are redelivered,
oldest first, one attempt each per transfer; then the new batch is pushed with retries
(tenacity: exponential backoff with jitter). A batch still refused is spilled behind the others,
so order is kept. An outlet that took a batch is never pushed it again because another outlet
failed. Inlets commit their checkpoint only once every outlet has delivered or durably spilled
what they produced.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import re
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_after_attempt, wait_random_exponential

from databay.delivery import Delivery, RejectedRecords
from databay.engine.observing import DELIVERY_RETRY, RECORDS_REJECTED, RECORDS_SPILLED, TransferResult
from databay.engine.spill import MemorySpill, SpillQueue, SqliteSpillStore
from databay.logs import log_failure
from databay.record import Record
from databay.redaction import redact_text

if TYPE_CHECKING:
    from databay.inlet import Inlet
    from databay.link import Link
    from databay.node import Node
    from databay.outlet import Outlet
    from databay.update import Update

__all__ = ["Deliverer"]

N = TypeVar("N", bound="Node")

_LOGGER = logging.getLogger("databay.Link")


class Deliverer:
    """One link's delivery state."""

    def __init__(self, link: Link, delivery: Delivery) -> None:
        self._link_ref = weakref.ref(link)  # no cycle: a dropped link frees its state file at once
        self._delivery = delivery
        self._queues: dict[Outlet, SpillQueue] = {}
        self._turns: dict[Outlet, tuple[asyncio.AbstractEventLoop, asyncio.Lock]] = {}
        self._in_flight = 0
        self._failed_transfer = False
        self._path: Path | None = None
        self._opened: SqliteSpillStore | None = None
        if delivery.state_dir is not None:
            if not link.tags:
                raise ValueError(f"{link!r} needs tags with a Delivery state_dir: they name its state across runs")
            name = re.sub(r"[^A-Za-z0-9_.-]", "_", ".".join(link.tags))
            self._path = Path(delivery.state_dir).resolve() / f"{name}.sqlite"
            if self._path.exists():  # a previous run's state; otherwise nothing is created until needed
                self._restore_checkpoints()

    @property
    def _store(self) -> SqliteSpillStore | None:
        """The link's state file, opened (and created) on first use."""
        if self._opened is None and self._path is not None:
            self._opened = SqliteSpillStore(self._path)
        return self._opened

    @property
    def _link(self) -> Link:
        link = self._link_ref()
        assert link is not None, "a Deliverer outlived its link"
        return link

    # -- state --------------------------------------------------------------------------------

    def _queue(self, outlet: Outlet) -> SpillQueue:
        queue = self._queues.get(outlet)
        if queue is None:
            store = self._store
            queue = self._queues[outlet] = MemorySpill() if store is None else store.queue(_key(outlet, self._link.outlets))
        return queue

    @property
    def spilled(self) -> int:
        """Records waiting in this link's queues."""
        return sum(len(self._queue(outlet)) for outlet in self._link.outlets)

    @property
    def lost_at_exit(self) -> int:
        """Records that would be lost if the process ended now: spilled in memory only."""
        return 0 if self._path is not None else self.spilled

    @property
    def full(self) -> bool:
        """Whether the link holds ``max_spill`` records or more and must stop pulling."""
        return self.spilled >= self._delivery.max_spill

    def refuse_pull(self, update: Update) -> None:
        _LOGGER.error(
            "%s not pulling: %d record(s) spilled, max_spill is %d; redelivering first",
            update, self.spilled, self._delivery.max_spill,
        )

    # -- delivering ---------------------------------------------------------------------------

    async def deliver(
        self, outlet: Outlet, records: list[Record], update: Update, offload: bool, result: TransferResult
    ) -> None:
        """Redeliver what ``outlet`` is owed, then push it ``records``; spill what it refuses.

        One delivery per outlet at a time, so transfers running side by side neither push a
        spilled batch twice nor overtake it. Cancelled (a shutdown past its timeout), the batch is
        spilled before the cancellation goes on: it was neither delivered nor lost. What was
        pushed, spilled or given up on goes in ``result``.
        """
        queue = self._queue(outlet)
        settled = False  # delivered or spilled
        try:
            async with self._turn(outlet):
                while (oldest := queue.oldest()) is not None:
                    batch_id, queued = oldest
                    error = await self._push(outlet, queued, update, offload, result, attempts=1)
                    if error is not None:
                        settled = True
                        self._spill(outlet, queue, records, update, result, f"behind {len(queue)} spilled record(s)", error)
                        return
                    queue.remove(batch_id)
                    _LOGGER.info("%s redelivered %d spilled record(s) to %r", update, len(queued), outlet)
                attempts = self._delivery.retries + 1
                error = await self._push(outlet, records, update, offload, result, attempts)
                settled = True
                if error is not None:
                    self._spill(outlet, queue, records, update, result, f"after {attempts} attempt(s)", error)
        except asyncio.CancelledError:
            if not settled:
                self._spill(outlet, queue, records, update, result, "before a shutdown cancelled the push", None)
            raise

    def _turn(self, outlet: Outlet) -> asyncio.Lock:
        """The outlet's delivery lock on the running loop (a blocking transfer runs on a fresh loop)."""
        loop = asyncio.get_running_loop()
        held = self._turns.get(outlet)
        if held is None or held[0] is not loop:
            held = self._turns[outlet] = (loop, asyncio.Lock())
        return held[1]

    async def _push(
        self, outlet: Outlet, records: list[Record], update: Update, offload: bool, result: TransferResult,
        attempts: int,
    ) -> Exception | None:
        """Push with retries; the error it finally failed with, or None once delivered
        (records it rejected one by one go to the dead letter).

        The first attempt is made directly, so the happy path pays nothing for the retry policy;
        after a failure tenacity runs the rest, backing off as if it had made the first one too.
        """
        error = await self._attempt(outlet, records, update, offload, result)
        if error is None or attempts == 1:
            return error
        first, longest = self._delivery.backoff
        retrying = AsyncRetrying(
            stop=stop_after_attempt(attempts - 1),
            wait=wait_random_exponential(multiplier=first * 2, max=longest),  # attempt 2 on: first * 2 ** (n - 1)
            retry=retry_if_result(lambda failure: failure is not None),
            before_sleep=lambda state: self._retrying(
                update, outlet, state.attempt_number + 1, attempts, _result(state), _next_wait(state)
            ),
            retry_error_callback=_result,
        )
        first_wait = wait_random_exponential(multiplier=first, max=longest)(RetryCallState(retrying, None, (), {}))
        self._retrying(update, outlet, 1, attempts, error, first_wait)
        await asyncio.sleep(first_wait)
        failure: Exception | None = await retrying(self._attempt, outlet, records, update, offload, result)
        return failure

    async def _attempt(
        self, outlet: Outlet, records: list[Record], update: Update, offload: bool, result: TransferResult
    ) -> Exception | None:
        """One push; the error, or None when the outlet took the batch (rejecting some of it, maybe)."""
        from databay.engine.transfer import push_to  # transfer imports this module

        try:
            await push_to(self._link, outlet, records, update, offload)
        except RejectedRecords as rejected:
            result.count_pushed(outlet, len(records) - len(rejected.rejected))
            await self._dead_letter(outlet, rejected, update, offload)
        except Exception as error:
            return error
        else:
            result.count_pushed(outlet, len(records))
        return None

    def _retrying(
        self, update: Update, outlet: Outlet, attempt: int, attempts: int, error: Exception | None, wait: float
    ) -> None:
        """Attempt ``attempt`` of ``attempts`` failed and another follows after ``wait``: log it, tell observers."""
        _LOGGER.warning(
            "%s push to %r failed (attempt %d of %d): %s; retrying in %.1fs",
            update, outlet, attempt, attempts, _describe(error), wait,
        )
        DELIVERY_RETRY(self._link, update, outlet, attempt, error, wait)

    def _spill(
        self, outlet: Outlet, queue: SpillQueue, records: list[Record], update: Update, result: TransferResult,
        reason: str, error: Exception | None,
    ) -> None:
        """Queue a batch an outlet did not take; if even that fails, count and report it as lost."""
        if error is not None:
            result.went_on_after(error)
        if not records:
            return
        try:
            queue.append(records)
        except Exception as spill_error:  # unpicklable payload, disk full: say so, never drop quietly
            self._link.undelivered += len(records)
            result.went_on_after(spill_error)
            log_failure(
                _LOGGER, spill_error, "%s %r did not take %d record(s) %s (%s), and spilling them failed (%s): lost",
                update, outlet, len(records), reason, _describe(error), _describe(spill_error),
            )
            return
        result.count_spilled(outlet, len(records))
        _LOGGER.error(
            "%s %r did not take %d record(s) %s (%s); spilled %s, %d waiting",
            update, outlet, len(records), reason, _describe(error),
            "to disk" if queue.durable else "in memory", len(queue),
        )
        RECORDS_SPILLED(self._link, update, outlet, len(records))

    async def _dead_letter(self, outlet: Outlet, rejected: RejectedRecords, update: Update, offload: bool) -> None:
        """Send rejected records to the dead letter, each naming link, outlet and error (observers hear of them first)."""
        from databay.engine.transfer import push_to

        if not rejected.rejected:
            return
        RECORDS_REJECTED(self._link, update, outlet, rejected.rejected)
        dead_letter = self._delivery.dead_letter
        first_error = rejected.rejected[0][1]
        if dead_letter is None:
            self._link.undelivered += len(rejected.rejected)
            _LOGGER.error(
                "%s %r rejected %d record(s), no dead letter to keep them; first error: %s",
                update, outlet, len(rejected.rejected), _describe(first_error),
            )
            return
        letters = [  # new records: the originals may be shared with other outlets (copy_records=False)
            Record(record.payload, {
                **record.metadata, "__link__": repr(self._link), "__outlet__": repr(outlet), "__error__": _describe(error),
            })
            for record, error in rejected.rejected
        ]
        try:
            await push_to(self._link, dead_letter, letters, update, offload)
        except Exception as error:
            self._link.undelivered += len(letters)
            _LOGGER.error(
                "%s dead letter %r failed (%s): %d rejected record(s) lost; first rejection: %s",
                update, dead_letter, _describe(error), len(letters), _describe(first_error),
            )
            return
        _LOGGER.warning("%s %r rejected %d record(s); sent to %r", update, outlet, len(letters), dead_letter)

    # -- checkpoints --------------------------------------------------------------------------

    def began(self) -> None:
        """A transfer of the link started (its records are in flight until :meth:`finished`)."""
        self._in_flight += 1

    def finished(self, update: Update, inlets: list[Inlet], failed: bool) -> None:
        """The transfer is over: commit the inlets that pulled this update, unless

        - an earlier transfer's records are still in flight (``overlap="concurrent"``),
        - anything is spilled in memory only, or held by a Buffer (a crash would lose it),
        - any transfer of this link failed since it was built: its records were dropped, and a
          cursor moved past them would skip them for good; the next run pulls them again.

        A later commit catches up with the ones held back.
        """
        self._in_flight -= 1
        if failed and not self._failed_transfer:
            self._failed_transfer = True
            _LOGGER.warning("%s failed: %r commits no checkpoint until it is built again", update, self._link)
        if self._in_flight or self._failed_transfer or self._link._buffered() or (self._path is None and self.spilled):
            return
        for inlet in inlets:
            inlet.commit(update)
        store = self._store if inlets else None
        if store is not None:
            keys = _keys(self._link.inlets)
            store.save_checkpoints({keys[inlet]: json.dumps(inlet.checkpoint) for inlet in inlets})

    def _restore_checkpoints(self) -> None:
        assert self._store is not None
        saved = self._store.checkpoints()
        for inlet, key in _keys(self._link.inlets).items():
            if key in saved:
                inlet.checkpoint = json.loads(saved[key])


def _keys(nodes: list[N]) -> dict[N, str]:
    """Names for a link's nodes that stay the same across runs: class name and occurrence."""
    seen: collections.Counter[str] = collections.Counter()
    keys: dict[N, str] = {}
    for node in nodes:
        name = type(node).__qualname__
        keys[node] = f"{name}#{seen[name]}"
        seen[name] += 1
    return keys


def _key(outlet: Outlet, outlets: list[Outlet]) -> str:
    return _keys(outlets)[outlet]


def _describe(error: BaseException | None) -> str:
    """An error for a log line: type and message, with secrets in URLs masked."""
    return "no error" if error is None else redact_text(f"{type(error).__name__}: {error}")


def _result(state: RetryCallState) -> Exception | None:
    """What an attempt returned: the error it failed with, or None."""
    assert state.outcome is not None
    failure: Exception | None = state.outcome.result()
    return failure


def _next_wait(state: RetryCallState) -> float:
    return state.next_action.sleep if state.next_action is not None else 0.0
