"""What inlets and outlets have in common: a start/shutdown lifecycle that runs once per instance."""

from __future__ import annotations

import inspect
import threading
from abc import ABC
from collections.abc import Callable

__all__ = ["Node"]


class Node(ABC):
    """Base of Inlet and Outlet.

    One node may be governed by several links (and planners); ``try_start`` and
    ``try_shutdown`` make sure ``on_start``/``on_shutdown`` still run once per instance.
    """

    def __init__(self) -> None:
        self._active = False
        self._lifecycle_lock = threading.Lock()
        self._checked_function: object = None
        self._checked_is_coroutine = False

    def _is_coroutine(self, method: Callable) -> bool:
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

    def on_start(self) -> None:
        """Called once just before the governing planner starts; override to set up."""

    def on_shutdown(self) -> None:
        """Called once just after the governing planner has shut down; override to clean up."""
