"""One transfer, as one async function: inlets → link processors → groupers → for each batch,
every outlet (a copy of the batch, the outlet's processors, then push).

With ``copy_records``, one inlet and no link processors or groupers, nobody but the outlets'
copies would see the batch, so a flat pull skips it: each outlet's copy is made from what the
inlet returned (:func:`databay.copying.copies_of_pull`).

Synchronous nodes are called inline. On a shared loop (a planner's, or a user's awaiting
:meth:`Link.transfer_async`), sync nodes that declare ``blocking = True`` run in a worker thread
so they don't stall other links. A link whose nodes are all synchronous never touches asyncio:
:func:`run_inline` steps the coroutine by hand, which costs no event loop at all.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import repeat
from typing import TYPE_CHECKING, Any, TypeVar

from databay.copying import copies_of_pull, copy_records
from databay.delivery import RejectedRecords
from databay.engine.observing import (
    RECORDS_REJECTED,
    TRANSFER_FINISHED,
    TRANSFER_STARTED,
    TransferResult,
    transfer_observers,
)
from databay.processing import apply_grouper, apply_processor, describe

if TYPE_CHECKING:
    from databay.inlet import Inlet
    from databay.link import Link
    from databay.outlet import Outlet
    from databay.record import Record
    from databay.update import Update

__all__ = ["run_transfer", "run_inline", "run_blocking", "push_to"]

T = TypeVar("T")
_LOGGER = logging.getLogger("databay.Link")


def run_inline(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (an all-sync transfer) to completion, without a loop."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise RuntimeError("databay: a transfer of synchronous nodes suspended; report this as a bug")


def run_blocking(coroutine: Coroutine[Any, Any, T], needs_loop: bool) -> T:
    """Run a transfer from synchronous code and wait for it.

    All-sync transfers run inline. Others get a fresh event loop, as ``asyncio.run`` gave them in
    databay 0.3; when the caller is itself inside a running loop, that fresh loop runs on a worker
    thread while the caller waits (asyncio code should ``await link.transfer_async()`` instead).
    """
    if not needs_loop:
        return run_inline(coroutine)
    if not _in_running_loop():
        return asyncio.run(coroutine)  # outside any except block: its errors carry no context
    with ThreadPoolExecutor(1, thread_name_prefix="databay-transfer") as worker:
        return worker.submit(asyncio.run, coroutine).result()


def _in_running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def run_transfer(link: Link, *, pull: bool = True, offload: bool = False) -> None:
    """Run one transfer of ``link``; ``offload`` sends blocking sync nodes to worker threads.
    Observers hear of its start and of how it finished (:mod:`databay.engine.observing`)."""
    update = link._next_update()
    debugging = _LOGGER.isEnabledFor(logging.DEBUG)  # asked once: two debug() calls cost a fast transfer 5 %
    if debugging:
        _LOGGER.debug("%s transfer", update)
    started, finished = transfer_observers()
    for plugin, call in started:  # GuardedHook.notify, inlined on the hot path
        try:
            call(link, update)
        except Exception as error:
            TRANSFER_STARTED.failed(plugin, error)
    result = TransferResult()
    start = time.perf_counter()
    deliverer = link._deliverer
    try:
        if deliverer is None:
            await _transfer(link, update, pull, offload, result)
        else:
            if pull and deliverer.full:
                deliverer.refuse_pull(update)
                pull = False
            deliverer.began()
            failed = True
            try:
                await _transfer(link, update, pull, offload, result)
                failed = False
            finally:
                deliverer.finished(update, [] if failed else list(result.pulled), failed)
    except BaseException as error:  # a cancelled transfer did not finish either
        result.error = error
        raise
    finally:
        result.duration = time.perf_counter() - start
        for plugin, call in finished:
            try:
                call(link, update, result)
            except Exception as error:
                TRANSFER_FINISHED.failed(plugin, error)
        # Break the cycle error -> traceback -> frames -> result, so a dropped link is freed at
        # once (and with it its Delivery's state lock), not at the next garbage collection.
        result.error = None
        result.failures = ()
    if debugging:
        _LOGGER.debug("%s done", update)


def _transfer(link: Link, update: Update, pull: bool, offload: bool, result: TransferResult) -> Coroutine[Any, Any, None]:
    """The transfer's stages, as the coroutine to await (chosen here, so that one coroutine
    fewer is alive while a pull waits: see :meth:`Runtime._spawned <databay.engine.runtime.Runtime._spawned>`)."""
    if pull and link.copy_records and len(link.inlets) == 1 and not (link.processors or link.groupers):
        return _transfer_copies(link, update, offload, result)
    return _transfer_stages(link, update, pull, offload, result)


async def _transfer_stages(link: Link, update: Update, pull: bool, offload: bool, result: TransferResult) -> None:
    if not pull:
        records: list[Record] = []
    elif link._async_inlets or (offload and link._blocking_inlets):
        records = await _pull_all(link, update, offload, result)
    else:  # the common case, all inline: no coroutine to make
        records = _pull_inline(link, update, result)
    copying = link.copy_records
    for batch in _batches(link, records, update, result) if link.processors or link.groupers else (records,):
        concurrent = _push_all(link, map(copy_records, repeat(batch)) if copying else repeat(batch), update, offload, result)
        if concurrent:
            await _all(concurrent)


async def _transfer_copies(link: Link, update: Update, offload: bool, result: TransferResult) -> None:
    """One inlet straight to outlets that each get a copy: nobody sees the batch itself, so when
    the pull is flat each outlet's copy is made from what it returned (:func:`copies_of_pull`)."""
    inlet = link.inlets[0]
    copies = None
    try:
        data = await _pulled(inlet, update, _threaded(link, inlet, offload))
        copies = copies_of_pull(data, inlet._to_records)
        records = [] if copies is not None else inlet._to_records(data)
    except Exception as error:
        _failed(link, result, error, "inlet", inlet, update)
        records = []
    else:
        result.count_pulled(inlet, len(data) if copies is not None else len(records))
    await _all(_push_all(link, map(copy_records, repeat(records)) if copies is None else copies, update, offload, result))


def _pulled(inlet: Inlet, update: Update, threaded: bool) -> Awaitable[Any]:
    """What one pull returns, to await: the pull itself, its call in a worker thread, or the
    value of its inline call (a plain function, so no coroutine of its own waits with the pull)."""
    inlet._begin_pull()
    if inlet.is_async:
        return inlet.pull(update)  # type: ignore[no-any-return]
    if threaded:
        return asyncio.to_thread(inlet.pull, update)
    return _value(inlet.pull(update))


async def _value(value: T) -> T:
    return value


async def _pull_all(link: Link, update: Update, offload: bool, result: TransferResult) -> list[Record]:
    """Pull every inlet, keeping inlet order, when some pull awaits or runs in a worker thread;
    concurrent pulls overlap up to ``inlet_concurrency``. Inlets that pulled without failing go
    in ``result.pulled`` with their record counts."""
    inlets = link.inlets
    if len(inlets) == 1 and inlets[0].is_async:  # one awaited pull: no task scope or bookkeeping
        inlet = inlets[0]
        try:
            records = inlet._to_records(await _pulled(inlet, update, False))
        except Exception as error:
            _failed(link, result, error, "inlet", inlet, update)
            return []
        result.count_pulled(inlet, len(records))
        return records
    pulled: list[list[Record] | None] = [None] * len(inlets)
    concurrent: list[Coroutine[Any, Any, None]] = []
    limit = asyncio.Semaphore(link.inlet_concurrency) if len(inlets) > link.inlet_concurrency else None
    try:
        for index, inlet in enumerate(inlets):
            if inlet.is_async or _threaded(link, inlet, offload):
                concurrent.append(_pull_concurrently(link, inlet, update, pulled, index, limit, result))
            else:
                pulled[index] = _pull(link, inlet, update, result)
    except BaseException:
        _close(concurrent)
        raise
    await _all(concurrent)
    for inlet, inlet_records in zip(inlets, pulled, strict=True):
        if inlet_records is not None:
            result.count_pulled(inlet, len(inlet_records))
    return [record for records in pulled if records for record in records]


def _pull_inline(link: Link, update: Update, result: TransferResult) -> list[Record]:
    """:func:`_pull_all` when every pull runs inline, one after the other."""
    inlets = link.inlets
    if len(inlets) == 1:  # most links: the inlet's records are the batch
        records = _pull(link, inlets[0], update, result)
        if records is None:
            return []
        result.pulled = {inlets[0]: len(records)}
        return records
    records = []
    for inlet in inlets:
        pulled_records = _pull(link, inlet, update, result)
        if pulled_records is not None:
            result.count_pulled(inlet, len(pulled_records))
            records += pulled_records
    return records


def _pull(link: Link, inlet: Inlet, update: Update, result: TransferResult) -> list[Record] | None:
    """One sync pull; None when it failed (and the failure was ignored)."""
    try:
        inlet._begin_pull()
        return inlet._to_records(inlet.pull(update))
    except Exception as error:
        _failed(link, result, error, "inlet", inlet, update)
        return None


def _failed(link: Link, result: TransferResult, error: Exception, stage: str, node: object, update: Update, **counts: int) -> None:
    """A node failed: raise it from the transfer, or (ignoring exceptions) log it and note it in ``result``."""
    link._failed(error, stage, node, update, **counts)
    result.went_on_after(error)  # reached only when the link ignores exceptions


async def _pull_concurrently(
    link: Link,
    inlet: Inlet,
    update: Update,
    pulled: list[list[Record] | None],
    index: int,
    limit: asyncio.Semaphore | None,
    result: TransferResult,
) -> None:
    try:
        if limit is not None:
            await limit.acquire()
        try:
            data = await _pulled(inlet, update, True)
        finally:
            if limit is not None:
                limit.release()
        pulled[index] = inlet._to_records(data)
    except Exception as error:
        _failed(link, result, error, "inlet", inlet, update)


def _batches(link: Link, records: list[Record], update: Update, result: TransferResult) -> list[list[Record]]:
    """Link processors, then groupers; a failing one is skipped when ignoring exceptions."""
    for processor in link.processors:
        try:
            records = apply_processor(processor, records, link)
        except Exception as error:
            _failed(link, result, error, "processor", describe(processor), update, dropped_if_raised=len(records))
    batches = [records]
    for grouper in link.groupers:
        try:
            batches = apply_grouper(grouper, batches, link)
        except Exception as error:
            _failed(link, result, error, "grouper", describe(grouper), update, dropped_if_raised=sum(map(len, batches)))
    return batches


def _push_all(
    link: Link, batches: Iterator[list[Record]], update: Update, offload: bool, result: TransferResult
) -> list[Coroutine[Any, Any, None]]:
    """Every outlet gets its next one of ``batches`` (the batch, or a copy of it each), through its
    processors: pushed inline, or returned as a coroutine for the caller to await with the others
    (:func:`_all`) where a push can wait (async, offloaded, or under a Delivery, whose retries back off)."""
    deliverer = link._deliverer
    concurrent: list[Coroutine[Any, Any, None]] = []
    try:
        may_wait = offload or link._async_nodes  # else no push can wait: skip asking each outlet
        for outlet in link.outlets:
            records = next(batches)
            if outlet.processors:
                processed = _processed(link, outlet, records, update, result)
                if processed is None:
                    continue
                records = processed
            if deliverer is not None:
                concurrent.append(deliverer.deliver(outlet, records, update, offload, result))
            elif may_wait and (outlet.is_async or _threaded(link, outlet, offload)):
                concurrent.append(_push(link, outlet, records, update, offload, result))
            else:
                _push_inline(link, outlet, records, update, result)
    except BaseException:
        _close(concurrent)
        raise
    return concurrent


def _threaded(link: Link, node: Inlet | Outlet, offload: bool) -> bool:
    """Whether a sync node's call goes to a worker thread: on a shared loop, when it declares
    that it blocks; under a Delivery (whose links run on the planner's loop) every sync call does."""
    return offload and (node.blocking or link.delivery is not None)


async def push_to(link: Link, outlet: Outlet, records: list[Record], update: Update, offload: bool) -> None:
    """Push, the way the outlet needs: awaited, in a worker thread, or inline (no suspension)."""
    if outlet.is_async:
        await outlet.push(records, update)
    elif _threaded(link, outlet, offload):
        await asyncio.to_thread(outlet.push, records, update)
    else:
        outlet.push(records, update)


async def _push(
    link: Link, outlet: Outlet, records: list[Record], update: Update, offload: bool, result: TransferResult
) -> None:
    try:
        await push_to(link, outlet, records, update, offload)
    except asyncio.CancelledError:  # a shutdown past its timeout: these records did not arrive
        link.undelivered += len(records)
        raise
    except Exception as error:
        _push_failed(link, outlet, records, update, result, error)
    else:
        result.count_pushed(outlet, len(records))


def _push_inline(link: Link, outlet: Outlet, records: list[Record], update: Update, result: TransferResult) -> None:
    """A sync push, without the coroutine (the all-sync hot path)."""
    try:
        outlet.push(records, update)
    except Exception as error:
        _push_failed(link, outlet, records, update, result, error)
    else:
        result.count_pushed(outlet, len(records))


def _push_failed(
    link: Link, outlet: Outlet, records: list[Record], update: Update, result: TransferResult, error: Exception
) -> None:
    """Without a Delivery: an outlet that rejected records one by one took the rest (observers hear
    of both); any failure is the outlet's, raised or (ignoring exceptions) noted."""
    if isinstance(error, RejectedRecords):
        result.count_pushed(outlet, len(records) - len(error.rejected))
        RECORDS_REJECTED(link, update, outlet, error.rejected)
    _failed(link, result, error, "outlet", outlet, update, undelivered=len(records))


def _processed(
    link: Link, outlet: Outlet, records: list[Record], update: Update, result: TransferResult
) -> list[Record] | None:
    """The outlet's own view of its batch, after its processors; None when a processor failed
    (and the failure was ignored)."""
    count = len(records)
    try:
        for processor in outlet.processors:
            records = apply_processor(processor, records, outlet)
    except Exception as error:
        _failed(link, result, error, "outlet", outlet, update, undelivered=count)
        return None
    return records


def _close(coroutines: list[Coroutine[Any, Any, None]]) -> None:
    """Discard coroutines that will never run (a sync node failed first), without a warning."""
    for coroutine in coroutines:
        coroutine.close()


async def _all(coroutines: list[Coroutine[Any, Any, None]]) -> None:
    """Await every coroutine in one task scope; the first failure cancels the rest and is raised
    as itself (not wrapped in a group), as databay 0.3 raised it."""
    if not coroutines:
        return
    if len(coroutines) == 1:
        await coroutines[0]
        return
    failure: BaseException | None = None
    try:
        async with asyncio.TaskGroup() as group:
            for coroutine in coroutines:
                group.create_task(coroutine)
    except BaseExceptionGroup as failures:
        failure, *others = failures.exceptions
        for other in others:
            failure.add_note(f"databay: also failed in the same transfer: {other!r}")
    if failure is not None:
        raise failure  # outside the except block, so it isn't chained to the group
