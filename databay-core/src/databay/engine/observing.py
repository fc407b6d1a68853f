"""Telling observers about transfers: what they are told (:class:`TransferResult`) and how each
observer hook is called (:data:`TRANSFER_STARTED` … :data:`RECORDS_SPILLED`).

Observer hooks run on every transfer, so they bypass pluggy's hook caller: each hook keeps a
snapshot of its implementations, re-read only when the plugin manager's list changes, and a
transfer with no implementation for a hook pays one list comparison for it. Each implementation
is called on its own, guarded: one that raises is logged (the first time, then at most once a
minute per plugin and hook, with how many failures were not shown) and the transfer goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from databay.logs import redacted_traceback
from databay.redaction import redact_text

if TYPE_CHECKING:
    from pluggy import HookCaller, HookImpl

    from databay.inlet import Inlet
    from databay.outlet import Outlet

__all__ = [
    "TransferResult",
    "GuardedHook",
    "TRANSFER_STARTED",
    "TRANSFER_FINISHED",
    "DELIVERY_RETRY",
    "RECORDS_REJECTED",
    "RECORDS_SPILLED",
    "transfer_observers",
    "prepare",
]

_LOGGER = logging.getLogger("databay.observers")
FAILURE_LOG_INTERVAL = 60.0
"""Seconds between two log lines about the same plugin's failing observer hook."""


_NONE: Mapping[Any, int] = MappingProxyType({})
"""No counts yet: shared by every result until it counts something (see :class:`TransferResult`)."""


@dataclass(slots=True, init=False)
class TransferResult:
    """What one transfer did: records in per inlet, records out per outlet, how long, how it ended.

    Observers read it during ``transfer_finished``; afterwards the transfer drops its errors
    (they would keep the transfer's frames alive). The engine counts through its methods: its
    mappings are made at the first count, because every object a transfer holds while its pull
    waits adds to the garbage collector's work (ten thousand transfers wait at once).
    """

    pulled: Mapping[Inlet, int]
    """Records each inlet produced (inlets that failed are absent)."""
    pushed: Mapping[Outlet, int]
    """Records each outlet accepted (for a Delivery: delivered, not spilled or rejected)."""
    spilled: Mapping[Outlet, int]
    """Records each outlet did not take that a Delivery spilled, to redeliver later."""
    failures: tuple[BaseException, ...]
    """Failures the transfer went on after: node errors ignored (``ignore_exceptions``) and pushes
    a Delivery gave up on (their records spilled)."""
    error: BaseException | None
    """The exception the transfer raised, if it did."""
    duration: float
    """Seconds from start to end (``time.perf_counter``)."""

    def __init__(self) -> None:  # by hand: made on every transfer, and faster than the generated one
        self.pulled = self.pushed = self.spilled = _NONE
        self.failures = ()
        self.error = None
        self.duration = 0.0

    def count_pulled(self, inlet: Inlet, count: int) -> None:
        """``inlet`` produced ``count`` records."""
        pulled = self.pulled
        if isinstance(pulled, dict):
            pulled[inlet] = count
        else:
            self.pulled = {inlet: count}

    def count_pushed(self, outlet: Outlet, count: int) -> None:
        """``outlet`` accepted ``count`` more records."""
        pushed = self.pushed
        if isinstance(pushed, dict):
            pushed[outlet] = pushed.get(outlet, 0) + count
        else:  # the first count, the common case: no lookups
            self.pushed = {outlet: count}

    def count_spilled(self, outlet: Outlet, count: int) -> None:
        """A Delivery spilled ``count`` more records ``outlet`` did not take."""
        spilled = self.spilled
        if isinstance(spilled, dict):
            spilled[outlet] = spilled.get(outlet, 0) + count
        else:
            self.spilled = {outlet: count}

    def went_on_after(self, failure: BaseException) -> None:
        """Note a failure the transfer went on after."""
        self.failures = (*self.failures, failure)

    @property
    def records_pulled(self) -> int:
        return sum(self.pulled.values())

    @property
    def records_pushed(self) -> int:
        return sum(self.pushed.values())

    @property
    def ok(self) -> bool:
        """Whether everything pulled was delivered: no error, no failure gone on after, nothing spilled."""
        return self.error is None and not self.failures and not self.spilled

    @property
    def last_error(self) -> BaseException | None:
        """The error that ended the transfer, else the last failure it went on after."""
        return self.error if self.error is not None else (self.failures[-1] if self.failures else None)


Call = Callable[..., object]
Calls = tuple[tuple[str, Call], ...]


class GuardedHook:
    """One hook's implementations, called directly and each one guarded (observer hooks, and
    registrations that must not let one plugin's failure stop the others)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._live: list[HookImpl] | None = None  # pluggy's own list, which it edits in place
        self._seen: list[HookImpl] = []  # a copy, as of the last snapshot
        self._calls: Calls = ()
        self._failures: dict[str, tuple[float, int]] = {}  # plugin -> (last logged, failures not shown)
        self._lock = threading.Lock()

    def current(self) -> Calls:
        """(plugin name, call) for each implementation, in pluggy's calling order; ``()`` for none."""
        if self._live != self._seen:  # a plugin came or went (or this is the first call)
            self._snapshot()
        return self._calls

    def _snapshot(self) -> None:
        from databay.plugins import get_plugin_manager  # plugins imports the engine

        caller: HookCaller = getattr(get_plugin_manager().hook, self.name)
        # get_hookimpls() copies pluggy's list on every call; comparing against the list itself
        # costs a transfer next to nothing.
        self._live = caller._hookimpls
        impls = caller.get_hookimpls()
        self._calls = _calls(caller, impls)
        self._seen = impls  # after the calls: a thread seeing the new list sees the new calls

    def notify(self, calls: Calls, *args: Any) -> None:
        """Call each implementation with the hook's arguments, in order; a failure is only logged."""
        for plugin, call in calls:
            try:
                call(*args)
            except Exception as error:
                self.failed(plugin, error)

    def __call__(self, *args: Any) -> None:
        """Notify every implementation, if there is any."""
        calls = self.current()
        if calls:
            self.notify(calls, *args)

    def failed(self, plugin: str, error: Exception) -> None:
        """Log that ``plugin``'s implementation raised: the first time, then at most once a minute."""
        now = time.monotonic()
        with self._lock:
            logged, hidden = self._failures.get(plugin, (float("-inf"), 0))
            if now - logged < FAILURE_LOG_INTERVAL:
                self._failures[plugin] = (logged, hidden + 1)
                return
            self._failures[plugin] = (now, 0)
        also = f" ({hidden} more failure(s) since the last report)" if hidden else ""
        _LOGGER.error(
            "databay plugin %r failed in %s: %s%s; databay went on without it (reported at most once a minute)",
            plugin, self.name, redact_text(f"{type(error).__name__}: {error}"), also,
        )
        if _LOGGER.isEnabledFor(logging.DEBUG):
            _LOGGER.debug("Traceback of the error above:\n%s", redacted_traceback(error))


def _calls(caller: HookCaller, impls: list[HookImpl]) -> Calls:
    """Positional calls for ``impls``, last registered first as pluggy calls them; an
    implementation taking a subset of the arguments gets just those."""
    assert caller.spec is not None
    names = caller.spec.argnames
    calls: list[tuple[str, Call]] = []
    for impl in reversed(impls):
        if impl.hookwrapper or impl.wrapper:
            _LOGGER.warning("databay plugin %r: observer hook %s cannot be a wrapper; ignored", impl.plugin_name, caller.name)
            continue
        calls.append((impl.plugin_name, impl.function if impl.argnames == names else _picking(impl, names)))
    return tuple(calls)


def _picking(impl: HookImpl, names: tuple[str, ...]) -> Call:
    function, wanted = impl.function, [names.index(name) for name in impl.argnames]
    return lambda *args: function(*[args[index] for index in wanted])


TRANSFER_STARTED = GuardedHook("transfer_started")
TRANSFER_FINISHED = GuardedHook("transfer_finished")
DELIVERY_RETRY = GuardedHook("delivery_retry")
RECORDS_REJECTED = GuardedHook("records_rejected")
RECORDS_SPILLED = GuardedHook("records_spilled")


def transfer_observers() -> tuple[Calls, Calls]:
    """The calls of ``transfer_started`` and of ``transfer_finished``, checked together: every
    transfer asks once at its start, so an observer hears of both ends of a transfer or of neither."""
    started, finished = TRANSFER_STARTED, TRANSFER_FINISHED
    if started._live != started._seen or finished._live != finished._seen:
        started.current()
        finished.current()
    return started._calls, finished._calls


def prepare() -> None:
    """Load the plugins and snapshot every observer hook now (a planner starting), so that no
    transfer waits for plugins to import."""
    for hook in (TRANSFER_STARTED, TRANSFER_FINISHED, DELIVERY_RETRY, RECORDS_REJECTED, RECORDS_SPILLED):
        hook.current()
