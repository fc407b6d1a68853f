"""CeleryPlanner: one pipeline, many workers. ``start()`` runs the scheduler side (publishing
due slots to Celery from the redbeat leader); ``databay celery worker`` runs the transfers.

Celery, kombu, redis and redbeat are imported when a Celery app or the scheduler is first
needed, not with this module: every process that loads databay's plugins imports it (to
register the planner), and their ~150 modules would add tens of thousands of objects to every
full garbage collection of a process that never schedules on Celery.
"""

from __future__ import annotations

import datetime
import logging
import threading
from typing import TYPE_CHECKING, Union

from databay import BasePlanner, Link
from databay.engine.overlap import Overlap, instance_limit
from databay.logs import log_failure
from databay.redaction import redact_url
from databay_celery.identity import interval_ms, link_keys
from databay_celery.settings import ClusterSettings

if TYPE_CHECKING:
    from celery import Celery  # type: ignore[import-untyped]

    from databay_celery.scheduler import SchedulerService

__all__ = ["CeleryPlanner"]

_LOGGER = logging.getLogger("databay.CeleryPlanner")


class CeleryPlanner(BasePlanner):
    """Schedules links on a Celery cluster over Redis (celery-redbeat for the schedule).

    ``start()`` publishes each link's due slots as tasks while this process holds the scheduler
    lock, and stands by otherwise (run several for failover); it starts no node and runs no
    transfer: ``databay celery worker`` does, on any number of machines.

    :param links: link or list of links.
    :param broker_url: the Redis URL every scheduler and worker of the cluster uses.
    :param redelivery: seconds within which a transfer whose worker died runs on another
        worker (sets kombu's visibility timeout and restore sweep, and the lease of running
        transfers). A transfer that runs longer than ``0.8 * redelivery`` is handed to a second
        worker, which waits for the first one's claim instead of running it twice.
    :param lock_timeout: whole seconds the scheduler lock outlives a dead leader.
    :param poll: seconds between a standby's tries for the lock.
    :param namespace: prefix of the cluster's Redis keys and its queue; one per pipeline.
    :param overlap: ``"skip"``, ``"wait"`` or ``"concurrent"``, held across the whole cluster.
    :param max_instances: with ``overlap="concurrent"``, transfers of one link at once, cluster-wide.
    :param concurrency: transfers one worker process runs at once (its threads).
    :param shutdown_timeout: seconds a stopping worker waits for its nodes' last transfers.
    """

    transfers_here = False  # workers start the nodes and transfer; /healthz here answers for the scheduler's liveness

    def __init__(
        self,
        links: Union[Link, list[Link], None] = None,
        broker_url: str = "redis://localhost:6379/0",
        *,
        redelivery: float = 25.0,
        lock_timeout: int = 2,
        poll: float = 0.25,
        namespace: str = "databay",
        overlap: Overlap = "skip",
        max_instances: int = 10,
        concurrency: int = 4,
        shutdown_timeout: float = 10.0,
    ):
        instance_limit(overlap, max_instances)
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be a positive int, got {concurrency!r}")
        self.broker_url = broker_url
        self.settings = ClusterSettings(redelivery, lock_timeout, poll, namespace)
        self.concurrency = concurrency
        self.shutdown_timeout = shutdown_timeout
        self.max_instances = max_instances
        self._service: SchedulerService | None = None
        self._thread: threading.Thread | None = None
        super().__init__(links, immediate_transfer=False, overlap=overlap, max_instances=max_instances, threads=1)

    def keyed_links(self) -> dict[str, Link]:
        """The links under their cluster-wide keys (see :mod:`databay_celery.identity`)."""
        return link_keys(self.links)

    def celery_app(self, name: str = "databay") -> Celery:
        """A Celery app configured for this cluster."""
        from celery import Celery

        app = Celery(name, set_as_current=False)
        app.conf.update(self.settings.celery_config(self.broker_url))
        return app

    @property
    def leading(self) -> bool:
        """Whether this scheduler holds the lock and publishes."""
        service = self._service
        return service is not None and service.leading.is_set()

    # -- BasePlanner ------------------------------------------------------------------------

    def _schedule(self, link: Link) -> None:
        interval_ms(link)  # refuse a link the grid cannot hold, when it is added
        if self._service is not None:
            self._restart_service()

    def _unschedule(self, link: Link) -> None:
        if self._service is not None:
            self._restart_service()

    def _restart_service(self) -> None:
        self._shutdown_planner()
        self._start_planner()

    def _start_planner(self) -> None:
        from databay_celery.scheduler import SchedulerService

        entries = {key: datetime.timedelta(milliseconds=interval_ms(link)) for key, link in self.keyed_links().items()}
        self._service = SchedulerService(self.celery_app(), self.settings, entries, coalesce=self.overlap == "skip")
        self._thread = threading.Thread(target=self._serve, args=(self._service,), name="databay-celery-scheduler", daemon=True)
        self._thread.start()

    def _serve(self, service: SchedulerService) -> None:
        """The scheduler thread: if it ever ends on an exception, the planner stops on it (exit
        status 1 under ``databay run``) instead of running on without publishing."""
        try:
            service.run()
        except Exception as error:
            log_failure(_LOGGER, error, "CeleryPlanner's scheduler stopped: %s: %s", type(error).__name__, error)
            self.exception = self.exception or error
            self._runtime.request_stop(wait=False, timeout=None)

    def _shutdown_planner(self, wait: bool = True) -> None:
        service, thread = self._service, self._thread
        self._service = self._thread = None
        if service is not None:
            service.stop()
        if thread is not None and wait:
            thread.join()

    def __repr__(self) -> str:
        return f"CeleryPlanner(links:{len(self.links)}, broker:{redact_url(self.broker_url)}, namespace:{self.settings.namespace})"
