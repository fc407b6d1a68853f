"""Running a transfer's coroutine from synchronous code, whatever thread or loop it is called from.

``asyncio.run`` builds and tears down a loop per call (databay 0.3 paid ~100 µs per transfer
for that) and refuses to run inside a running loop. Here each thread keeps one loop for its
lifetime, and a call made from inside a running loop is handed to a background loop thread.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import threading
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["run_sync", "adopt", "call_before_close", "run_before_close_callbacks"]

T = TypeVar("T")
_LOGGER = logging.getLogger("databay.event_loops")

_before_close: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[Callable[[], Awaitable[Any]]]] = (
    weakref.WeakKeyDictionary()
)
_per_thread = threading.local()
_thread_loops: weakref.WeakSet[_ThreadLoop] = weakref.WeakSet()
_background: asyncio.AbstractEventLoop | None = None
_background_lock = threading.Lock()


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion and return its result, blocking the calling thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        owner = getattr(_per_thread, "owner", None)
        if owner is None:
            owner = _per_thread.owner = _ThreadLoop()
        return owner.runner.run(coroutine)
    return asyncio.run_coroutine_threadsafe(coroutine, _background_loop()).result()


def adopt(loop: asyncio.AbstractEventLoop) -> None:
    """Declare that databay will run ``loop``'s before-close callbacks before the loop closes."""
    _before_close.setdefault(loop, [])


def call_before_close(callback: Callable[[], Awaitable[Any]]) -> bool:
    """Await ``callback()`` on the running loop just before it closes, if databay manages that loop.

    Lets nodes keep loop-bound resources (connection pools) across transfers and still close
    them properly. Returns False for a loop databay does not manage (e.g. a user's asyncio.run).
    """
    callbacks = _before_close.get(asyncio.get_running_loop())
    if callbacks is None:
        return False
    callbacks.append(callback)
    return True


async def run_before_close_callbacks() -> None:
    """Run (once) the callbacks registered for the running loop; owners call this before closing it."""
    for callback in _before_close.pop(asyncio.get_running_loop(), []):
        try:
            await callback()
        except Exception:
            _LOGGER.exception("A before-close callback failed: %r", callback)


class _ThreadLoop:
    """A thread's own loop, closed when the thread ends (its thread-local is dropped) or at exit."""

    def __init__(self) -> None:
        self.runner = asyncio.Runner()
        adopt(self.runner.get_loop())
        _thread_loops.add(self)

    def close(self) -> None:
        loop = self.runner.get_loop()
        if not loop.is_closed() and not loop.is_running():
            self.runner.run(run_before_close_callbacks())
        self.runner.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter teardown: nothing left to clean
            pass


@atexit.register
def _close_thread_loops() -> None:
    for thread_loop in list(_thread_loops):
        thread_loop.close()


def _background_loop() -> asyncio.AbstractEventLoop:
    """A loop on a daemon thread, for sync calls made from inside a running event loop."""
    global _background
    with _background_lock:
        if _background is None:
            loop = asyncio.new_event_loop()
            adopt(loop)
            threading.Thread(target=loop.run_forever, name="databay-loop", daemon=True).start()
            _background = loop
        return _background
