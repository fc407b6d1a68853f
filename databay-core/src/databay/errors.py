"""Exceptions raised by databay."""

__all__ = [
    "MissingLinkError",
    "ImplementationError",
    "InvalidNodeError",
    "NodeNotInstalledError",
    "PlannerAlreadyRunningError",
    "PlannerNotRunningError",
]


class MissingLinkError(RuntimeError):
    """Raised when providing a link that isn't stored in planner."""


class ImplementationError(RuntimeError):
    """Raised when concrete implementation is incorrect."""


class InvalidNodeError(RuntimeError):
    """Raised when invalid node (inlet or outlet) is provided."""


class NodeNotInstalledError(ImportError):
    """Raised when a node is asked for by name but the distribution providing it is not installed."""


class PlannerAlreadyRunningError(RuntimeError):
    """Raised by ``start()`` on a planner that is already starting, running or stopping."""


class PlannerNotRunningError(RuntimeError):
    """Raised by ``pause()``/``resume()`` on a planner that is not starting or running."""
