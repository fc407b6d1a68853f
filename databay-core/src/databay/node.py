"""What inlets and outlets have in common: a start/shutdown lifecycle, and how they block."""

from __future__ import annotations

import inspect
import threading
from abc import ABC
from collections.abc import Callable
from typing import Any

__all__ = ["Node"]


class Node(ABC):
    """Base of Inlet and Outlet.

    One node may be governed by several links and planners. ``try_start``/``try_shutdown`` run
    ``on_start``/``on_shutdown`` once while the node is inactive/active, as in databay 0.3;
    planners go through a reference count instead, so a node shared by two running planners is
    started by the first and shut down only when the last one stops.
    """

    blocking: bool = False
    """Set True on a sync node whose pull or push waits on I/O (a database or HTTP client, say).
    When its link runs on a shared event loop (a planner's, or ``await link.transfer_async()``),
    the call then runs in a worker thread instead of stalling every other link on that loop, so
    it must be safe to call from several threads."""

    def __init__(self) -> None:
        self._active = False
        self._users = 0
        self._lifecycle_lock = threading.RLock()
        self._checked_function: object = None
        self._checked_is_coroutine = False

    def _is_coroutine(self, method: Callable[..., Any]) -> bool:
        """Whether ``method`` is a coroutine function, remembered per function: transfers ask every time."""
        function = getattr(method, "__func__", method)
        if function is not self._checked_function:
            self._checked_is_coroutine = inspect.iscoroutinefunction(function)
            self._checked_function = function
        return self._checked_is_coroutine

    @property
    def active(self) -> bool:
        """Whether this node has been started and not yet shut down."""
        return self._active

    def try_start(self) -> None:
        """Call ``on_start`` unless this node is already active."""
        with self._lifecycle_lock:
            if self._active:
                return
            self._active = True
        self.on_start()

    def try_shutdown(self) -> None:
        """Call ``on_shutdown`` if this node is active."""
        with self._lifecycle_lock:
            if not self._active:
                return
            self._active = False
        self.on_shutdown()

    def _acquire(self) -> None:
        """One more user (a running planner): the first one starts the node.

        Holds the lock through ``on_start`` so a second user waits until the node is ready; if
        ``on_start`` raises, the node stays inactive and unclaimed.
        """
        with self._lifecycle_lock:
            self._users += 1
            if self._active:
                return
            try:
                self.on_start()
            except BaseException:
                self._users -= 1
                raise
            self._active = True

    def _release(self) -> None:
        """One user fewer: the last one shuts the node down."""
        with self._lifecycle_lock:
            if self._users == 0:
                return
            self._users -= 1
            if self._users or not self._active:
                return
            self._active = False
            self.on_shutdown()

    def on_start(self) -> None:
        """Called once just before the governing planner starts; override to set up."""

    def on_shutdown(self) -> None:
        """Called once just after the governing planner has shut down; override to clean up."""
