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
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(1, thread_name_prefix="databay-transfer") as worker:
        return worker.submit(asyncio.run, coroutine).result()


async def run_transfer(link: Link, *, pull: bool = True, offload: bool = False) -> None:
    """Run one transfer of ``link``; ``offload`` sends blocking sync nodes to worker threads."""
    update = link._next_update()
    records = await _pull_all(link, update, offload) if pull else []
    for batch in _batches(link, records, update):
        await _push_all(link, batch, update, offload)
    _LOGGER.debug("%s done", update)


async def _pull_all(link: Link, update: Update, offload: bool) -> list[Record]:
    """Pull every inlet, keeping inlet order; concurrent pulls overlap up to ``inlet_concurrency``."""
    inlets = link.inlets
    pulled: list[list[Record]] = [[] for _ in inlets]
    concurrent: list[Coroutine[Any, Any, None]] = []
    limit = asyncio.Semaphore(link.inlet_concurrency) if link.is_async or offload else None
    try:
        for index, inlet in enumerate(inlets):
            if inlet.is_async or (offload and inlet.blocking):
                concurrent.append(_pull_concurrently(link, inlet, update, pulled, index, limit))
            else:
                pulled[index] = _pull(link, inlet, update)
    except BaseException:
        _close(concurrent)
        raise
    await _all(concurrent)
    return [record for records in pulled for record in records]


def _pull(link: Link, inlet: Inlet, update: Update) -> list[Record]:
    try:
        inlet._begin_pull()
        return inlet._to_records(inlet.pull(update))
    except Exception as error:
        link._failed(error, "inlet", inlet, update)
        return []


async def _pull_concurrently(
    link: Link, inlet: Inlet, update: Update, pulled: list[list[Record]], index: int, limit: asyncio.Semaphore | None
) -> None:
    assert limit is not None
    try:
        async with limit:
            inlet._begin_pull()
            if inlet.is_async:
                data = await inlet.pull(update)
            else:
                data = await asyncio.to_thread(inlet.pull, update)
            pulled[index] = inlet._to_records(data)
    except Exception as error:
        link._failed(error, "inlet", inlet, update)


def _batches(link: Link, records: list[Record], update: Update) -> list[list[Record]]:
    """Link processors, then groupers; a failing one is skipped when ignoring exceptions."""
    for processor in link.processors:
        try:
            records = apply_processor(processor, records, link)
        except Exception as error:
            link._failed(error, "processor", describe(processor), update)
    batches = [records]
    for grouper in link.groupers:
        try:
            batches = apply_grouper(grouper, batches, link)
        except Exception as error:
            link._failed(error, "grouper", describe(grouper), update)
    return batches


async def _push_all(link: Link, batch: list[Record], update: Update, offload: bool) -> None:
    concurrent: list[Coroutine[Any, Any, None]] = []
    try:
        for outlet in link.outlets:
            if outlet.is_async:
                concurrent.append(_push_async(link, outlet, batch, update))
            elif offload and outlet.blocking:
                concurrent.append(asyncio.to_thread(_push, link, outlet, batch, update))
            else:
                _push(link, outlet, batch, update)
    except BaseException:
        _close(concurrent)
        raise
    await _all(concurrent)


def _push(link: Link, outlet: Outlet, batch: list[Record], update: Update) -> None:
    try:
        outlet.push(_records_for(link, outlet, batch), update)
    except Exception as error:
        link._failed(error, "outlet", outlet, update)


async def _push_async(link: Link, outlet: Outlet, batch: list[Record], update: Update) -> None:
    try:
        await outlet.push(_records_for(link, outlet, batch), update)
    except Exception as error:
        link._failed(error, "outlet", outlet, update)


def _records_for(link: Link, outlet: Outlet, batch: list[Record]) -> list[Record]:
    """The outlet's own view of a batch: a copy (unless disabled), then its processors."""
    records = copy_records(batch) if link.copy_records else batch
    for processor in outlet.processors:
        records = apply_processor(processor, records, outlet)
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
