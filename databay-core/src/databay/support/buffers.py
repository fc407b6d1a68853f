"""Buffer: a processor that holds records back until its controllers decide to release them."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Union

from databay.processing import Processor, describe
from databay.record import Record

__all__ = ["Buffer", "adopt_buffers"]

_LOGGER = logging.getLogger("databay.Buffer")

Controller = Callable[[list[Record]], bool]


class Buffer:
    """Accumulates records across transfers and releases them all at once.

    Controllers are asked, in order (custom ones, then count, then time), whether the stored
    records should be released; evaluation short-circuits. With ``conjugate_controllers``
    all must agree (AND), otherwise any one suffices (OR).

    :param count_threshold: release once more than this many records are stored.
    :param time_threshold: release once this many seconds passed since records were first stored.
    :param custom_controllers: callable(s) taking the stored records, returning True to release.
    :param on_reset: called every time the buffer resets.
    :param conjugate_controllers: AND the controllers instead of OR.
    """

    def __init__(
        self,
        count_threshold: int | None = None,
        time_threshold: float | None = None,
        custom_controllers: Union[Controller, list[Controller], None] = None,
        on_reset: Callable[[], object] | None = None,
        conjugate_controllers: bool = False,
    ):
        self.count_threshold = count_threshold
        self.time_threshold = time_threshold
        if custom_controllers is None:
            custom_controllers = []
        elif not isinstance(custom_controllers, list):
            custom_controllers = [custom_controllers]
        self.custom_controllers: list[Controller] = custom_controllers
        self.on_reset = on_reset
        self.conjugate_controllers = conjugate_controllers
        self.records: list[Record] = []
        self.time_start: float | None = None
        self.flush = False
        self.owner: object | None = None
        """The link or outlet this buffer serves, named in its logs (the manual allows one)."""
        self._lock = threading.Lock()

    def _count_controller(self, records: list[Record]) -> bool:
        assert self.count_threshold is not None  # get_controllers offers this controller only with a threshold
        return len(records) > self.count_threshold

    def _time_controller(self, records: list[Record]) -> bool:
        assert self.time_threshold is not None  # get_controllers offers this controller only with a threshold
        if self.time_start is None:
            self.time_start = time.time()
        return time.time() > self.time_start + self.time_threshold

    def get_controllers(self) -> list[Controller]:
        """The active controllers, in evaluation order."""
        controllers = list(self.custom_controllers)
        if self.count_threshold is not None:
            controllers.append(self._count_controller)
        if self.time_threshold is not None:
            controllers.append(self._time_controller)
        return controllers

    def _should_release(self) -> bool:
        if self.flush:
            return True
        for controller in self.get_controllers():
            try:
                decision = bool(controller(self.records))
            except Exception:
                owner = "" if self.owner is None else f" in {self.owner!r}"
                _LOGGER.exception("%r%s: controller %s failed; skipping it", self, owner, describe(controller))
                continue
            if decision != self.conjugate_controllers:
                return decision  # OR found a True, or AND found a False
        return self.conjugate_controllers and bool(self.get_controllers())

    def _execute(self, records: list[Record]) -> list[Record]:
        with self._lock:
            self.records += records
            if not self.records or not self._should_release():
                return []
            released = self.records
            self.reset()
            return released

    def __call__(self, records: list[Record]) -> list[Record]:
        return self._execute(records)

    def reset(self) -> None:
        """Empty the buffer, restart the controllers' counters, clear ``flush``, call ``on_reset``."""
        self.records = []
        self.time_start = None
        self.flush = False
        if self.on_reset is not None:
            self.on_reset()

    def __repr__(self) -> str:
        return (
            f"Buffer(count_threshold={self.count_threshold}, time_threshold={self.time_threshold}, "
            f"stored={len(self.records)})"
        )


def adopt_buffers(processors: list[Processor], owner: object) -> None:
    """Tell each Buffer among ``processors`` whom it serves, so its log lines can name it."""
    for processor in processors:
        if isinstance(processor, Buffer):
            processor.owner = owner
