"""One transfer, as one async function: inlets → link processors → groupers → for each batch,
every outlet (a copy of the batch, the outlet's processors, then push).

Synchronous nodes are called inline. On a shared loop (a planner's, or a user's awaiting
:meth:`Link.transfer_async`), sync nodes that declare ``blocking = True`` run in a worker thread
so they don't stall other links. A link whose nodes are all synchronous never touches asyncio:
:func:`run_inline` steps the coroutine by hand, which costs no event loop at all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from databay.copying import copy_records
from databay.processing import apply_grouper, apply_processor, describe

if TYPE_CHECKING:
    from databay.inlet import Inlet
    from databay.link import Link
    from databay.outlet import Outlet
    from databay.record import Record
    from databay.update import Update

__all__ = ["run_transfer", "run_inline", "run_blocking"]

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
    """Run one transfer of ``link``; ``offload`` sends blocking sync nodes to worker threads."""
    update = link._next_update()
    deliverer = link._deliverer
    if deliverer is None:
        await _transfer(link, update, pull, offload, [])
    else:
        if pull and deliverer.full:
            deliverer.refuse_pull(update)
            pull = False
        pulled: list[Inlet] = []
        deliverer.began()
        failed = True
        try:
            await _transfer(link, update, pull, offload, pulled)
            failed = False
        finally:
            deliverer.finished(update, [] if failed else pulled, failed)
    _LOGGER.debug("%s done", update)


async def _transfer(link: Link, update: Update, pull: bool, offload: bool, pulled: list[Inlet]) -> None:
    records = await _pull_all(link, update, offload, pulled) if pull else []
    for batch in _batches(link, records, update):
        await _push_all(link, batch, update, offload)


async def _pull_all(link: Link, update: Update, offload: bool, pulled_from: list[Inlet]) -> list[Record]:
    """Pull every inlet, keeping inlet order; concurrent pulls overlap up to ``inlet_concurrency``.
    Inlets that pulled without failing are appended to ``pulled_from``."""
    inlets = link.inlets
    if not (link._async_inlets or (offload and link._blocking_inlets)):  # the common, all-inline case
        records: list[Record] = []
        for inlet in inlets:
            pulled_records = _pull(link, inlet, update)
            if pulled_records is not None:
                pulled_from.append(inlet)
                records += pulled_records
        return records
    if len(inlets) == 1 and inlets[0].is_async:  # one awaited pull: no task scope or bookkeeping
        inlet = inlets[0]
        try:
            inlet._begin_pull()
            records = inlet._to_records(await inlet.pull(update))
        except Exception as error:
            link._failed(error, "inlet", inlet, update)
            return []
        pulled_from.append(inlet)
        return records
    pulled: list[list[Record] | None] = [None] * len(inlets)
    concurrent: list[Coroutine[Any, Any, None]] = []
    limit = asyncio.Semaphore(link.inlet_concurrency) if len(inlets) > link.inlet_concurrency else None
    try:
        for index, inlet in enumerate(inlets):
            if inlet.is_async or _threaded(link, inlet, offload):
                concurrent.append(_pull_concurrently(link, inlet, update, pulled, index, limit))
            else:
                pulled[index] = _pull(link, inlet, update)
    except BaseException:
        _close(concurrent)
        raise
    await _all(concurrent)
    pulled_from += [inlet for inlet, records in zip(inlets, pulled, strict=True) if records is not None]
    return [record for records in pulled if records for record in records]


def _pull(link: Link, inlet: Inlet, update: Update) -> list[Record] | None:
    """One sync pull; None when it failed (and the failure was ignored)."""
    try:
        inlet._begin_pull()
        return inlet._to_records(inlet.pull(update))
    except Exception as error:
        link._failed(error, "inlet", inlet, update)
        return None


async def _pull_concurrently(
    link: Link,
    inlet: Inlet,
    update: Update,
    pulled: list[list[Record] | None],
    index: int,
    limit: asyncio.Semaphore | None,
) -> None:
    try:
        if limit is not None:
            await limit.acquire()
        try:
            inlet._begin_pull()
            if inlet.is_async:
                data = await inlet.pull(update)
            else:
                data = await asyncio.to_thread(inlet.pull, update)
        finally:
            if limit is not None:
                limit.release()
        pulled[index] = inlet._to_records(data)
    except Exception as error:
        link._failed(error, "inlet", inlet, update)


def _batches(link: Link, records: list[Record], update: Update) -> list[list[Record]]:
    """Link processors, then groupers; a failing one is skipped when ignoring exceptions."""
    for processor in link.processors:
        try:
            records = apply_processor(processor, records, link)
        except Exception as error:
            link._failed(error, "processor", describe(processor), update, dropped_if_raised=len(records))
    batches = [records]
    for grouper in link.groupers:
        try:
            batches = apply_grouper(grouper, batches, link)
        except Exception as error:
            link._failed(error, "grouper", describe(grouper), update, dropped_if_raised=sum(map(len, batches)))
    return batches


async def _push_all(link: Link, batch: list[Record], update: Update, offload: bool) -> None:
    """Every outlet gets the batch: concurrently where a push can wait (async, offloaded, or
    under a Delivery, whose retries back off), inline otherwise."""
    deliverer = link._deliverer
    concurrent: list[Coroutine[Any, Any, None]] = []
    try:
        for outlet in link.outlets:
            records = _records_for(link, outlet, batch, update)
            if records is None:
                continue
            if deliverer is not None:
                concurrent.append(deliverer.deliver(outlet, records, update, offload))
            elif outlet.is_async or _threaded(link, outlet, offload):
                concurrent.append(_push(link, outlet, records, update, offload))
            else:
                _push_inline(link, outlet, records, update)
    except BaseException:
        _close(concurrent)
        raise
    await _all(concurrent)


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


async def _push(link: Link, outlet: Outlet, records: list[Record], update: Update, offload: bool) -> None:
    try:
        await push_to(link, outlet, records, update, offload)
    except asyncio.CancelledError:  # a shutdown past its timeout: these records did not arrive
        link.undelivered += len(records)
        raise
    except Exception as error:
        link._failed(error, "outlet", outlet, update, undelivered=len(records))


def _push_inline(link: Link, outlet: Outlet, records: list[Record], update: Update) -> None:
    """A sync push, without the coroutine (the all-sync hot path)."""
    try:
        outlet.push(records, update)
    except Exception as error:
        link._failed(error, "outlet", outlet, update, undelivered=len(records))


def _records_for(link: Link, outlet: Outlet, batch: list[Record], update: Update) -> list[Record] | None:
    """The outlet's own view of a batch: a copy (unless disabled), then its processors; None
    when a processor failed (and the failure was ignored)."""
    records = copy_records(batch) if link.copy_records else batch
    try:
        for processor in outlet.processors:
            records = apply_processor(processor, records, outlet)
    except Exception as error:
        link._failed(error, "outlet", outlet, update, undelivered=len(batch))
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
