"""Resources that live exactly as long as the event loop they were made on.

A node may keep a loop-bound resource (an aiohttp session, say) across transfers, but it must
be closed on that loop before the loop goes away. ``asyncio.run`` and ``asyncio.Runner`` finalise
every live async generator (``loop.shutdown_asyncgens()``) just before they close a loop, so a
generator parked on its ``yield`` is a portable "before close" hook: it works on a planner's
loop, on the loop ``Link.transfer()`` makes and on a user's own ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

__all__ = ["call_before_close", "close_now"]

_LOGGER = logging.getLogger("databay.engine")

Callback = Callable[[], Awaitable[Any]]

# loop -> (the parked generator, its callbacks); the dict keeps the generator alive until it runs
_closers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[AsyncGenerator[None, None], list[Callback]]] = (
    weakref.WeakKeyDictionary()
)


async def call_before_close(callback: Callback) -> None:
    """Await ``callback()`` on the running loop just before that loop closes."""
    loop = asyncio.get_running_loop()
    entry = _closers.get(loop)
    if entry is None:
        callbacks: list[Callback] = []
        closer = _run_at_close(callbacks)
        await closer.__anext__()  # parks on its yield; the loop now tracks it
        entry = _closers[loop] = (closer, callbacks)
    entry[1].append(callback)


async def close_now() -> None:
    """Run the running loop's before-close callbacks now; for owners that close loops by hand."""
    entry = _closers.pop(asyncio.get_running_loop(), None)
    if entry is not None:
        await entry[0].aclose()


async def _run_at_close(callbacks: list[Callback]) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        _closers.pop(asyncio.get_running_loop(), None)
        for callback in callbacks:
            try:
                await callback()
            except Exception:
                _LOGGER.exception("A before-close callback failed: %r", callback)
