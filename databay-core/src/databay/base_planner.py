"""BasePlanner: runs each link's transfer on the link's interval, through a scheduling library.

.. seealso:: Extending BasePlanner in the user guide.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from abc import ABC, abstractmethod
from typing import Union

from databay.errors import MissingLinkError
from databay.link import Link
from databay.overlap import Overlap, instance_limit

__all__ = ["BasePlanner"]

_LOGGER = logging.getLogger("databay.BasePlanner")


class BasePlanner(ABC):
    """Schedules links; concrete planners implement the ``_schedule``/``_unschedule``/
    ``_start_planner``/``_shutdown_planner`` extension points.

    :param links: link or list of links to add and schedule.
    :param ignore_exceptions: log a failing transfer and keep going, instead of shutting down.
    :param immediate_transfer: on start, transfer once every link whose own
        ``immediate_transfer`` is True, before waiting for intervals.
    :param shutdown_at_exit: shut down gracefully when the interpreter exits.
    :param overlap: what happens when a link falls due while its previous transfer still runs:
        ``"skip"`` (default), ``"wait"`` or ``"concurrent"`` (see :mod:`databay.overlap`).
    :param max_instances: with ``overlap="concurrent"``, how many transfers of one link may run at once.
    """

    def __init__(
        self,
        links: Union[Link, list[Link], None] = None,
        ignore_exceptions: bool = False,
        immediate_transfer: bool = True,
        shutdown_at_exit: bool = False,
        *,
        overlap: Overlap = "skip",
        max_instances: int = 10,
    ):
        self.overlap = overlap
        self._instance_limit = instance_limit(overlap, max_instances)
        self._turns: dict[Link, threading.Lock] = {}
        self._links: list[Link] = []
        self._ignore_exceptions = ignore_exceptions
        self.immediate_transfer = immediate_transfer
        self.shutdown_at_exit = shutdown_at_exit
        self._started = False
        _register_at_exit(self)
        if links is not None:
            self.add_links(links)

    @property
    def links(self) -> list[Link]:
        """Links governed by this planner."""
        return self._links

    @property
    def ignore_exceptions(self) -> bool:
        """Whether a failing transfer is logged and ignored rather than shutting the planner down."""
        return self._ignore_exceptions

    def add_links(self, links: Union[Link, list[Link]]) -> None:
        """Add and schedule links; allowed while running (their nodes are started first)."""
        links = list(links) if isinstance(links, (list, tuple)) else [links]
        for link in links:
            if not isinstance(link, Link):
                raise TypeError(f"Provided link is not an instance of Link, found: {link!r}")
            if link in self._links:
                raise ValueError(f"{self!r} already governs {link!r}")
        for link in links:
            if self._started:
                link.on_start()
            self._links.append(link)
            self._schedule(link)
            _LOGGER.info("Added link: %s", link)

    def remove_links(self, links: Union[Link, list[Link]]) -> None:
        """Unschedule and remove links. :raises MissingLinkError: a link is not in this planner."""
        links = list(links) if isinstance(links, (list, tuple)) else [links]
        for link in links:
            if link not in self._links:
                raise MissingLinkError(f"Planner does not contain the link: {link!r}")
        for link in links:
            if link.job is not None:
                self._unschedule(link)
            self._links.remove(link)
            _LOGGER.info("Removed link: %s", link)

    def purge(self) -> None:
        """Unschedule and remove all links; allowed while running."""
        for link in self._links:
            if link.job is not None:
                self._unschedule(link)
        self._links = []

    def start(self) -> None:
        """Start nodes (``on_start``), run immediate transfers, then start scheduling."""
        _LOGGER.info("Starting %s", self)
        self._started = True
        for link in self._links:
            try:
                link.on_start()
            except Exception as error:
                self._on_exception(error, link)
                if not self._ignore_exceptions:
                    return
        if self.immediate_transfer:
            due = [link for link in self._links if link.immediate_transfer]
            if not self._immediate_transfers(due):
                return
        self._start_planner()

    def shutdown(self, wait: bool = True, *, flush_buffers: bool = False) -> None:
        """Stop scheduling (waiting for running transfers if ``wait``), then shut nodes down.

        With ``flush_buffers``, each link's buffers release what they hold (:meth:`Link.flush`)
        after scheduling stops and before the nodes shut down.
        """
        _LOGGER.info("Shutting down %s", self)
        self._started = False
        self._shutdown_planner(wait)
        if flush_buffers:
            for link in self._links:
                try:
                    link.flush()
                except Exception as error:
                    self._on_exception(error, link)
        for link in self._links:
            try:
                link.on_shutdown()
            except Exception:
                _LOGGER.exception("on_shutdown failed in %r", link)

    def force_transfer(self) -> None:
        """Transfer every link once, now."""
        for link in list(self._links):
            self._transfer(link)

    def _immediate_transfers(self, links: list[Link]) -> bool:
        """Transfer ``links`` once before scheduling starts; False stops the start after a failure.

        Planners that run transfers concurrently may override this to make the links due now.
        """
        return all(self._transfer(link) for link in links)

    def _transfer(self, link: Link) -> bool:
        """Run one transfer the way planners should: failures go to :meth:`_on_exception`, and
        with ``overlap="wait"`` transfers of one link take turns.

        :returns: False when the transfer failed and exceptions are not ignored.
        """
        try:
            if self.overlap == "wait":
                with self._turns.setdefault(link, threading.Lock()):
                    link.transfer()
            else:
                link.transfer()
        except Exception as error:
            self._on_exception(error, link)
            return self._ignore_exceptions
        return True

    def _on_exception(self, exception: Exception, link: Link | None = None) -> None:
        """Log a failure; unless ignoring exceptions, shut the running planner down gracefully."""
        where = f" Raised when executing {link!r}" if link is not None else ""
        _LOGGER.error("%s: %s%s", type(exception).__name__, exception, where, exc_info=exception)
        if not self._ignore_exceptions and self.running:
            self.shutdown(wait=False)

    @abstractmethod
    def _schedule(self, link: Link) -> None:
        """Add ``link.transfer`` to the scheduler on ``link.interval``; call ``link.set_job``."""

    @abstractmethod
    def _unschedule(self, link: Link) -> None:
        """Remove ``link``'s job from the scheduler."""

    @abstractmethod
    def _start_planner(self) -> None:
        """Start the scheduler."""

    @abstractmethod
    def _shutdown_planner(self, wait: bool = True) -> None:
        """Stop the scheduler; if ``wait``, let running transfers finish."""

    @property
    def running(self) -> bool:
        """Whether the scheduler is running. Override; by default always True."""
        return True

    def _at_exit(self) -> None:
        if self.shutdown_at_exit and self.running:
            _LOGGER.info("Attempting to shut down %s gracefully at exit.", self)
            self.shutdown(True)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(links:{len(self._links)})"


def _register_at_exit(planner: BasePlanner) -> None:
    """Register the exit hook through a weak reference, so the hook never keeps a planner alive."""
    ref = weakref.ref(planner)

    def at_exit() -> None:
        alive = ref()
        if alive is not None:
            alive._at_exit()

    atexit.register(at_exit)
