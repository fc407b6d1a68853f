"""Exceptions raised by databay."""

__all__ = [
    "AmbiguousNodeError",
    "MissingLinkError",
    "ImplementationError",
    "InvalidNodeError",
    "NodeDisabledError",
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


class NodeDisabledError(NodeNotInstalledError):
    """Raised when the plugin providing a node is installed but disabled by an environment variable."""


class AmbiguousNodeError(ImportError):
    """Raised when more than one plugin registers a node name: qualify it as ``entrypoint:Name``.

    An ImportError, like a missing node, so ``from databay.inlets import Name`` shows the message.
    """


class PlannerAlreadyRunningError(RuntimeError):
    """Raised by ``start()`` on a planner that is already starting, running or stopping."""


class PlannerNotRunningError(RuntimeError):
    """Raised by ``pause()``/``resume()`` on a planner that is not starting or running."""
