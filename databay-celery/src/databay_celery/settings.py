"""The cluster's timing, derived from two numbers so they cannot contradict each other.

``redelivery`` bounds how long a transfer whose worker died waits before another worker runs
it. Redis has no acknowledgements of its own: kombu emulates them with a visibility timeout
(an hour by default) and a sweep that restores unacked messages (every ~100 s by default), so
both are set from ``redelivery``, and so is the lease a running transfer keeps alive in Redis
(a dead worker's lease must expire before its message comes back). ``lock_timeout`` bounds
scheduler failover: the leader extends the redbeat lock on every tick, a standby polls for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["ClusterSettings", "TASK_NAME"]

TASK_NAME = "databay.transfer"
"""The one Celery task: ``(link_key, slot_ms)``."""


@dataclass(frozen=True)
class ClusterSettings:
    """Timing of one cluster; every process of it must use the same values.

    :param redelivery: seconds within which a transfer whose worker died is run by another.
    :param lock_timeout: seconds the scheduler lock outlives its holder (whole seconds: redbeat
        extends it in whole seconds); failover takes at most this plus ``poll``.
    :param poll: seconds between a standby's tries for the lock, and the longest a leader sleeps.
    :param namespace: prefix of every Redis key and the queue name: one per pipeline.
    """

    redelivery: float = 25.0
    lock_timeout: int = 2
    poll: float = 0.25
    namespace: str = "databay"

    def __post_init__(self) -> None:
        if not 2 <= self.redelivery:
            raise ValueError(f"redelivery must be at least 2 seconds, got {self.redelivery!r}")
        if isinstance(self.lock_timeout, bool) or not isinstance(self.lock_timeout, int) or self.lock_timeout < 1:
            raise ValueError(f"lock_timeout must be a positive whole number of seconds, got {self.lock_timeout!r}")
        if not 0 < self.poll < self.lock_timeout:
            raise ValueError(f"poll must be positive and shorter than lock_timeout, got {self.poll!r}")
        if not self.namespace or any(ch in self.namespace for ch in " :{}"):
            raise ValueError(f"namespace must be a non-empty word without spaces, ':' or braces, got {self.namespace!r}")

    @property
    def visibility_timeout(self) -> float:
        """How long a worker may hold a message unacknowledged before Redis gives it to another."""
        return self.redelivery * 0.8

    @property
    def restore_interval(self) -> int:
        """Seconds between live workers' sweeps restoring expired unacked messages."""
        return max(1, math.floor(self.redelivery * 0.2))

    @property
    def lease(self) -> float:
        """Seconds a running transfer's claim and overlap marker live without a heartbeat."""
        return self.redelivery * 0.4

    @property
    def heartbeat(self) -> float:
        """Seconds between renewals of a running transfer's lease."""
        return self.lease / 4

    def celery_config(self, broker_url: str) -> dict[str, Any]:
        """Celery settings for this cluster: late acknowledgement, one message per thread."""
        return {
            "broker_url": broker_url,
            # kombu's Redis transport, whose worker survives Redis going away mid-transfer (see transport.py)
            "broker_transport": "databay_celery.transport:Transport" if broker_url.startswith("redis://") else None,
            "broker_connection_retry_on_startup": True,
            "broker_transport_options": {
                "visibility_timeout": self.visibility_timeout,
                "unacked_restore_interval": self.restore_interval,
                "unacked_restore_throttle": 1,
                # the mutex one worker holds while it sweeps: a sweeper killed mid-sweep must not
                # block the others' sweeps for kombu's default 300 s
                "unacked_mutex_expire": self.restore_interval,
            },
            "result_backend": None,
            "task_ignore_result": True,
            "result_expires": None,  # no backend to clean (and no cleanup entry in the schedule)
            "task_acks_late": True,
            "task_reject_on_worker_lost": True,
            "task_default_queue": self.namespace,
            "worker_prefetch_multiplier": 1,
            "worker_hijack_root_logger": False,
            "worker_send_task_events": False,
            "worker_cancel_long_running_tasks_on_connection_loss": False,
            "task_serializer": "json",
            "accept_content": ["json"],
            "enable_utc": True,
            "redbeat_redis_url": broker_url,
            "redbeat_redis_options": {},  # not the broker's transport options
            "redbeat_key_prefix": f"{self.namespace}:redbeat:",
            "redbeat_lock_timeout": self.lock_timeout,
            "beat_max_loop_interval": self.poll,
        }
