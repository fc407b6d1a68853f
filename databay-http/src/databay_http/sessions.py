"""aiohttp ClientSessions for an inlet: one pooled session per event loop.

A session is bound to the loop it was made on, and transfers of one inlet may run on several
loops: a planner's, the fresh loop of a blocking ``Link.transfer()``, or a user's own
``asyncio.run`` awaiting ``link.transfer_async()``. Each loop gets one session, pooled across
transfers and closed on that loop just before it closes (:mod:`databay.engine.loops`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from databay.engine.loops import call_before_close

if TYPE_CHECKING:
    import aiohttp

__all__ = ["SessionPool"]


class SessionPool:
    """Sessions by event loop, made on first use by ``factory``."""

    def __init__(self, factory: Callable[[], aiohttp.ClientSession]):
        self._factory = factory
        self._sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[aiohttp.ClientSession]:
        """The running loop's pooled session, made on first use."""
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            session = self._factory()
            await call_before_close(lambda: self._evict(loop, session))
            with self._lock:
                self._sessions[loop] = session
        yield session

    async def _evict(self, loop: asyncio.AbstractEventLoop, session: aiohttp.ClientSession) -> None:
        """Close the loop's session before the loop closes and forget it (it references the loop)."""
        with self._lock:
            if self._sessions.get(loop) is session:
                del self._sessions[loop]
        await session.close()

    def close(self, timeout: float = 5.0) -> None:
        """Close the pooled sessions of loops that are running elsewhere or idle; callable from any thread."""
        with self._lock:
            sessions = list(self._sessions.items())
            self._sessions.clear()
        for loop, session in sessions:
            if session.closed or loop.is_closed():
                continue
            if not loop.is_running():
                loop.run_until_complete(session.close())
            elif not _runs_here(loop):
                asyncio.run_coroutine_threadsafe(session.close(), loop).result(timeout)
            # else: called on that loop itself; its before-close callback closes the session


def _runs_here(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
