"""Running a transfer's coroutine from synchronous code, whatever thread or loop it is called from.

``asyncio.run`` builds and tears down a loop per call (databay 0.3 paid ~100 µs per transfer
for that) and refuses to run inside a running loop. Here each thread keeps one loop for its
lifetime, and a call made from inside a running loop is handed to a background loop thread.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Coroutine, TypeVar

__all__ = ["run_sync"]

T = TypeVar("T")

_per_thread = threading.local()
_background: asyncio.AbstractEventLoop | None = None
_background_lock = threading.Lock()


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion and return its result, blocking the calling thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        runner = getattr(_per_thread, "runner", None)
        if runner is None:
            runner = _per_thread.runner = asyncio.Runner()
        return runner.run(coroutine)
    return asyncio.run_coroutine_threadsafe(coroutine, _background_loop()).result()


def _background_loop() -> asyncio.AbstractEventLoop:
    """A loop on a daemon thread, for sync calls made from inside a running event loop."""
    global _background
    with _background_lock:
        if _background is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="databay-loop", daemon=True).start()
            _background = loop
        return _background
