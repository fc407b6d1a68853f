"""The scheduler side: publish each link's due slots as Celery tasks, from whichever scheduler
holds the redbeat lock.

Link schedules live in redbeat (Redis), so every scheduler of a cluster shares them and a
standby carries on where the leader stopped. Two rules keep a slot from being published twice,
even if two schedulers ever believed they led (a leader that stalled past its lock): slots are
points of a fixed grid, and each link has a published watermark in Redis that only a
compare-and-set moves forward, before the task is sent. The same compare-and-set records the
slot as outstanding (:mod:`databay_celery.outstanding`): a send that fails, or a scheduler killed
before it, leaves the slot for the next leader's tick to send again after ``redelivery``.

A Redis that loses its data (restarted without persistence) loses the watermarks and the queue:
each link starts again at its current slot, and the scheduler that led before logs an ERROR per
link naming the slots it could not publish, and says queued ones are lost.

Under ``overlap="skip"`` the slots missed during a gap (a failover, a restart) are coalesced:
only the newest is published, as a running transfer would have made the link skip the others.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import socket
import threading
import time
from typing import Any

import redis
from celery import Celery  # type: ignore[import-untyped]
from celery.schedules import schedule  # type: ignore[import-untyped]
from redbeat.schedulers import LUA_EXTEND_TO_SCRIPT, RedBeatScheduler, RedBeatSchedulerEntry, get_redis  # type: ignore[import-untyped]
from redis.exceptions import LockError

from databay.redaction import redact_text, url_secrets
from databay_celery.coordination import Coordinator
from databay_celery.identity import Slot, grid
from databay_celery.settings import TASK_NAME, ClusterSettings

__all__ = ["LinkScheduler", "SchedulerService"]

_LOGGER = logging.getLogger("databay.CeleryPlanner")

MAX_CATCH_UP = 100
"""Missed slots a scheduler publishes per link after a gap (a failover, a restart); older ones are skipped."""



class LinkScheduler(RedBeatScheduler):
    """redbeat's scheduler, publishing every grid slot of a link once (see the module docs)."""

    def __init__(
        self, app: Celery, settings: ClusterSettings, stop: threading.Event, coalesce: bool,
        seen: dict[str, int] | None = None, **kwargs: Any,
    ) -> None:
        super().__init__(app, lock_timeout=settings.lock_timeout, max_interval=settings.poll, lazy=True, **kwargs)
        self._settings = settings
        self._seen = {} if seen is None else seen  # each link's last watermark this process saw
        self._stop = stop
        self._coalesce = coalesce
        self._coordinator = Coordinator(get_redis(app), settings)
        self._extended = time.monotonic()

    def tick(self, **kwargs: Any) -> float:
        """Extend the lock, publish the due slots, send the overdue outstanding ones again."""
        self._extended = time.monotonic()
        delay: float = super().tick(**kwargs)
        coordinator = self._coordinator
        for slot in coordinator.outstanding.overdue(coordinator.slot_key, coordinator.done_for):
            if self._stop.is_set():
                break
            _LOGGER.warning("%s sent again: not finished nor running %gs after it was published or last sent", slot, self._settings.redelivery)
            self._send(slot, self.producer)
        return delay

    def maybe_due(self, entry: RedBeatSchedulerEntry, producer: Any = None, **kwargs: Any) -> float:
        """Publish the entry's due slots, oldest first; the seconds until its next slot."""
        interval = round(entry.schedule.run_every.total_seconds() * 1000)
        now = _ms(self.app.now())
        last = self._coordinator.outstanding.watermark(entry.name)
        if last is None and entry.name in self._seen:
            self._watermark_lost(entry.name, self._seen.pop(entry.name), interval, now)
        if last is not None:
            self._seen[entry.name] = last
        after = (now // interval) * interval - 1 if last is None else last  # new link: its current slot
        due = list(grid(interval, after, now))
        if self._coalesce and len(due) > 1:
            _LOGGER.info("%s: %d missed slot(s) coalesced into the newest (overlap=skip)", entry.name, len(due) - 1)
            due = due[-1:]
        elif len(due) > MAX_CATCH_UP:
            _LOGGER.warning("%s: skipping %d missed slot(s), publishing the last %d", entry.name, len(due) - MAX_CATCH_UP, MAX_CATCH_UP)
            due = due[-MAX_CATCH_UP:]
        for ms in due:
            if self._stop.is_set():  # SIGTERM: not one more slot
                break
            self._keep_lock()
            slot = Slot(entry.name, ms)
            if self._coordinator.outstanding.publish(slot):
                self._seen[slot.link] = ms
                self._send(slot, producer or self.producer)
            entry = entry._next_instance(last_run_at=_datetime(ms))  # redbeat's record: due time and last run
        return ((now // interval + 1) * interval - now) / 1000

    def _watermark_lost(self, link: str, last: int, interval: int, now: int) -> None:
        """Redis lost the link's watermark (it restarted without its data): name what is lost."""
        first, current = last + interval, (now // interval) * interval
        unpublished = f"the slots {Slot(link, first)} to {Slot(link, current - interval)} are not published" if first < current else "no slot went unpublished"
        _LOGGER.error(
            "%s: its published watermark (%s) is gone from Redis: did Redis restart without its data? "
            "Slots published up to it and not yet run are lost with the queue; %s; publishing from %s",
            link, Slot(link, last), unpublished, Slot(link, current),
        )

    def _keep_lock(self) -> None:
        """Extend the lock within a long tick (many links), before a third of it is gone."""
        if time.monotonic() - self._extended > self._settings.lock_timeout / 3:
            self.lock.extend(int(self.lock_timeout))  # LockError once lost: stop publishing
            self._extended = time.monotonic()

    def _send(self, slot: Slot, producer: Any) -> None:
        """Send the slot's task; a failure names the slot (it stays outstanding) and is raised."""
        try:
            self.app.send_task(
                TASK_NAME, args=[slot.link, slot.ms], task_id=f"{slot.link}@{slot.ms}",
                queue=self._settings.namespace, producer=producer,
            )
        except Exception as error:
            _LOGGER.error(
                "%s was not sent (%s: %s); it is outstanding: the leader sends it again %gs after it was published",
                slot, type(error).__name__, redact_text(str(error), url_secrets(self.app.conf.broker_url)), self._settings.redelivery,
            )
            raise


class SchedulerService:
    """Stand by for the lock, lead while holding it, stand by again if it is lost; until stopped."""

    def __init__(self, app: Celery, settings: ClusterSettings, entries: dict[str, datetime.timedelta], coalesce: bool) -> None:
        self._app = app
        self._settings = settings
        self._coalesce = coalesce
        self._secrets = url_secrets(app.conf.broker_url)
        self._stop = threading.Event()
        self._seen: dict[str, int] = {}  # each link's last watermark, kept across leadership terms
        self.leading = threading.Event()
        app.conf.beat_schedule = {
            key: {"task": TASK_NAME, "schedule": schedule(run_every=every), "args": (key,)}
            for key, every in entries.items()
        }

    def stop(self) -> None:
        """Stop publishing now (even mid-tick) and release the lock, so a standby takes over."""
        self._stop.set()

    def run(self) -> None:
        """Lead or stand by until :meth:`stop`. Any failure (Redis or the broker away, a send
        refused) is logged and retried after ``poll``: a slot whose send failed is outstanding,
        so the next leading tick sends it again."""
        while not self._stop.is_set():
            scheduler = LinkScheduler(self._app, self._settings, self._stop, self._coalesce, self._seen)
            try:
                if self._acquire(scheduler):
                    self._lead(scheduler)
            except LockError:
                _LOGGER.warning("CeleryPlanner lost the scheduler lock; standing by")
            except Exception as error:  # noqa: BLE001 (one failure must not end the scheduler)
                message = redact_text(str(error), self._secrets)
                _LOGGER.error("CeleryPlanner's scheduler failed (%s: %s); retrying", type(error).__name__, message)
                self._stop.wait(self._settings.poll)
            finally:
                self.leading.clear()
                _close(scheduler)

    def _acquire(self, scheduler: LinkScheduler) -> bool:
        client = get_redis(self._app)
        lock = client.lock(scheduler.lock_key, timeout=scheduler.lock_timeout)
        lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)  # extend *to* the timeout, as redbeat does
        while not self._stop.is_set():
            if lock.acquire(blocking=False):
                scheduler.lock = lock
                _LOGGER.info("CeleryPlanner holds the scheduler lock: publishing")
                return True
            self._stop.wait(self._settings.poll)
        return False

    def _lead(self, scheduler: LinkScheduler) -> None:
        scheduler.setup_schedule()
        self.leading.set()
        client = get_redis(self._app)
        leader = json.dumps({"pid": os.getpid(), "host": socket.gethostname()})
        while not self._stop.is_set():
            delay = scheduler.tick()  # extends the lock first; LockError once it is lost
            client.set(f"{self._settings.namespace}:leader", leader, px=self._settings.lock_timeout * 1000)
            self._stop.wait(min(delay, self._settings.poll))


def _close(scheduler: LinkScheduler) -> None:
    """Release the lock (if held) and the broker connection; a broken connection is no reason to fail."""
    try:
        scheduler.close()
    except (redis.RedisError, LockError, OSError) as error:
        _LOGGER.debug("closing the scheduler: %s", redact_text(str(error)))


def _ms(moment: datetime.datetime) -> int:
    return round(moment.timestamp() * 1000)


def _datetime(ms: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)
