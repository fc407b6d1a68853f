"""Running a transfer's coroutine from synchronous code, whatever thread or loop it is called from.

``asyncio.run`` builds and tears down a loop per call (databay 0.3 paid ~100 µs per transfer
for that) and refuses to run inside a running loop. Here each thread keeps one loop for its
lifetime, and a call made from inside a running loop is handed to a background loop thread.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
import weakref
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run_sync"]

T = TypeVar("T")

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


class _ThreadLoop:
    """A thread's own loop, closed when the thread ends (its thread-local is dropped) or at exit."""

    def __init__(self) -> None:
        self.runner = asyncio.Runner()
        _thread_loops.add(self)

    def close(self) -> None:
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
            threading.Thread(target=loop.run_forever, name="databay-loop", daemon=True).start()
            _background = loop
        return _background
