"""The scheduler side: publish each link's due slots as Celery tasks, from whichever scheduler
holds the redbeat lock.

Link schedules live in redbeat (Redis), so every scheduler of a cluster shares them and a
standby carries on where the leader stopped. Two rules keep a slot from being published twice,
even if two schedulers ever believed they led (a leader that stalled past its lock): slots are
points of a fixed grid, and each link has a published watermark in Redis that only a
compare-and-set moves forward, before the task is sent. The same compare-and-set records the
slot as outstanding (:mod:`databay_celery.outstanding`): a send that fails, or a scheduler killed
before it, leaves the slot for the next leader's tick to send again after ``redelivery``.

A tick moves the watermarks of up to ``PUBLISH_BATCH`` due slots in one Lua call (slot by slot, as
one call each would), then sends their tasks in one kombu batch (one Redis pipeline). Slots it
moved and surely did not send (a stop, or a failure, before their turn) are withdrawn: their
watermarks go back where they were (if still theirs), so the next leader publishes them.

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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis
from celery import Celery  # type: ignore[import-untyped]
from celery.schedules import schedule  # type: ignore[import-untyped]
from redbeat.decoder import RedBeatJSONEncoder  # type: ignore[import-untyped]
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



PUBLISH_BATCH = 200
"""Due slots moved past their watermarks in one round trip, then sent, before the next batch."""

_BROKER_BATCH = 8 * PUBLISH_BATCH
"""Redis commands kombu buffers before it flushes a batch of sends (one per message, a few more
for a queue with an expiry): more than a batch of slots needs, so a batch is one flush."""


@dataclass
class _Entry:
    """What a tick needs of a redbeat entry: its Redis key, link, interval (ms) and run count."""

    key: str
    name: str
    interval: int
    runs: int
    due: bool = True  # else only the next one due, which tells how long the tick may sleep
    last: int | None = None  # the last due slot this tick handled (published, or someone else's)


_META = RedBeatJSONEncoder()


class LinkScheduler(RedBeatScheduler):
    """redbeat's scheduler, publishing every grid slot of a link once (see the module docs).

    redbeat's own tick loads each due entry, publishes it and writes its next due time with a
    Redis round trip or more each; here a tick loads the due entries in two round trips, reads
    their watermarks in one, moves them in batches of ``PUBLISH_BATCH`` slots (one Lua call each,
    slot by slot as before), sends each batch's tasks and writes redbeat's records in one more.
    """

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
        self._definitions: dict[str, tuple[str, int]] = {}  # redbeat's definition (JSON) -> link, interval
        # the first tick of a leadership term looks at every link: a new one publishes its current
        # slot at once, the others catch up (redbeat's stored next due times are its own guesses)
        self._first = True
        # kombu makes sure of the queue's declaration on every send (binding a copy of it to the
        # channel each time, a fifth of a send's cost): once per leadership term is enough (the
        # queue is a Redis list the first push creates; workers declare it too)
        self._declared = False

    def update_from_dict(self, dict_: dict[str, Any]) -> None:
        """redbeat's, storing each link's entry (three round trips each), but extending the lock
        as it goes: with a few thousand links this outlasted the lock, so the scheduler lost it
        before its first tick, stood by, took it again, and never published."""
        for name, entry in dict_.items():
            self._keep_lock()
            super().update_from_dict({name: entry})

    def tick(self, **kwargs: Any) -> float:
        """Extend the lock, publish the due slots, send the overdue outstanding ones again; the
        seconds until the next slot falls due (at most ``max_interval``)."""
        self.lock.extend(int(self.lock_timeout))  # as redbeat's tick: LockError once lost
        self._extended = time.monotonic()
        entries = self._due_entries()
        now = _ms(self.app.now())
        slots = self._due_slots(entries, now)
        self._publish(slots, {entry.name: entry for entry in entries}, self.producer)
        coordinator = self._coordinator
        for slot in coordinator.outstanding.overdue(coordinator.slot_key, coordinator.done_for):
            if self._stop.is_set():
                break
            _LOGGER.warning("%s sent again: not finished nor running %gs after it was published or last sent", slot, self._settings.redelivery)
            self._send(slot, self.producer)
        next_due = min(((now // entry.interval + 1) * entry.interval for entry in entries), default=None)
        if next_due is None:
            return float(self.max_interval)
        return min(max(0.0, (next_due - _ms(self.app.now())) / 1000), float(self.max_interval))

    def _due_entries(self) -> list[_Entry]:
        """The entries redbeat's schedule has due now (on the first tick: all), and the next one due
        within ``max_interval`` (as redbeat's ``schedule`` selects them), loaded in one round trip
        rather than one each. The next one only tells the tick how long to sleep, so a slot is
        published as it falls due."""
        conf = self.app.redbeat_conf
        client = get_redis(self.app)
        max_due_at = _ms(self.app.now()) / 1000  # to the millisecond, as :meth:`_record` scores them (redbeat: whole seconds)
        with client.pipeline(transaction=False) as pipe:
            pipe.zrangebyscore(conf.schedule_key, 0, "+inf" if self._first else max_due_at)  # the first tick: every link
            pipe.zrangebyscore(conf.schedule_key, f"({max_due_at}", max_due_at + self.max_interval, start=0, num=1)
            due, upcoming = pipe.execute()
        self._first = False
        upcoming = [key for key in upcoming if key not in due]
        keys: list[str] = [*due, *upcoming]
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hmget(key, "definition", "meta")
            rows: list[list[str | None]] = pipe.execute()
        entries = []
        for index, (key, (definition, meta)) in enumerate(zip(keys, rows, strict=True)):
            if not definition:
                _LOGGER.warning("redbeat's entry %s is gone from Redis; removed from its schedule", key)
                client.zrem(conf.schedule_key, key)
                continue
            name, interval = self._definition(definition)
            runs = int(json.loads(meta).get("total_run_count", 0)) if meta else 0
            entries.append(_Entry(key, name, interval, runs, due=index < len(due)))
        return entries

    def _definition(self, definition: str) -> tuple[str, int]:
        """The link and interval (ms) of a redbeat definition (decoded once per definition)."""
        known = self._definitions.get(definition)
        if known is None:
            decoded = RedBeatSchedulerEntry.decode_definition(definition)
            known = self._definitions[definition] = (str(decoded["name"]), round(decoded["schedule"].run_every.total_seconds() * 1000))
        return known

    def _due_slots(self, entries: list[_Entry], now: int) -> list[Slot]:
        """Each entry's slots due by ``now`` past its watermark, oldest first (one round trip)."""
        slots: list[Slot] = []
        entries = [entry for entry in entries if entry.due]
        for entry, last in zip(entries, self._coordinator.outstanding.watermarks([entry.name for entry in entries]), strict=True):
            interval = entry.interval
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
            slots.extend(Slot(entry.name, ms) for ms in due)
        return slots

    def _publish(self, slots: list[Slot], entries: dict[str, _Entry], producer: Any) -> None:
        """Publish the slots in batches: move their watermarks (each slot a compare-and-set, as
        before), send the ones moved, then write redbeat's records of the batch's entries.

        Stopped mid-batch (SIGTERM) or failing mid-batch, the slots moved and not yet sent are
        withdrawn (their watermarks put back), so they are no one's: the next leader publishes
        them. A send that failed is not withdrawn: it stays outstanding, to be sent again.
        """
        outstanding = self._coordinator.outstanding
        for start in range(0, len(slots), PUBLISH_BATCH):
            if self._stop.is_set():  # SIGTERM: not one more slot
                return
            self._keep_lock()
            batch = slots[start:start + PUBLISH_BATCH]
            moved = [
                (slot, replaced) for slot, replaced in zip(batch, outstanding.publish_many(batch), strict=True)
                if replaced is not None
            ]
            self._send_batch(moved, producer)
            if self._stop.is_set():
                return
            for slot in batch:  # as redbeat's next instance would after each slot
                entry = entries[slot.link]
                entry.last, entry.runs = slot.ms, entry.runs + 1
            self._record({slot.link: entries[slot.link] for slot in batch}.values())

    def _send_batch(self, moved: list[tuple[Slot, str]], producer: Any) -> None:
        """Send the slots moved (with the watermarks they replaced), in one kombu batch: their
        messages reach Redis together, in one pipeline, when the batch ends.

        A stop between two sends ends the batch there: the slots handed so far are sent, the rest
        withdrawn. A send that fails ends it too: kombu discards the batch, so nothing of it reached
        the broker; that slot stays outstanding (sent again after ``redelivery``), the rest are
        withdrawn (with a transport that cannot batch, kombu sends each message at once: the ones
        before it were sent). If the batch fails as kombu sends it, each of its slots may or may not have
        reached Redis: they all stay outstanding (a copy that arrived twice runs once).
        """
        batched = bool(producer.supports_batch_publish)  # else kombu sends each message at once
        handed: list[tuple[Slot, str]] = []
        sending: tuple[Slot, str] | None = None
        flushing = False
        unsent: list[tuple[Slot, str]] = []  # withdrawn: surely not sent (anything uncertain stays outstanding)
        try:
            with producer.batch(max_size=_BROKER_BATCH):
                for item in moved:
                    if self._stop.is_set():  # SIGTERM: not one more slot
                        break
                    self._keep_lock()  # LockError once lost
                    sending = item
                    self._send(item[0], producer, batched)
                    handed.append(item)
                    sending = None
                flushing = True
            unsent = moved[len(handed):]
        except Exception as error:
            if flushing:
                for slot, _ in handed:
                    self._not_sent(slot, error.__cause__ or error, "its batch failed; some of it may have reached Redis")
                unsent = moved[len(handed):]
            elif batched:  # kombu discarded the batch: nothing of it reached Redis
                unsent = [item for item in moved if item != sending]
            else:  # a transport that sends at once: the ones handed were sent
                unsent = moved[len(handed) + (sending is not None):]
            raise
        finally:
            if unsent:
                self._withdraw(unsent)
        for slot, _ in handed:
            self._seen[slot.link] = slot.ms

    def _withdraw(self, unsent: list[tuple[Slot, str]]) -> None:
        """Put back the watermarks of slots moved and never sent (see :meth:`_publish`)."""
        try:
            withdrawn = self._coordinator.outstanding.withdraw(unsent)
        except redis.RedisError as error:
            _LOGGER.warning(
                "%d slot(s) published and not sent could not be withdrawn (%s): they are outstanding, the leader sends them %gs "
                "after they were published", len(unsent), redact_text(str(error), url_secrets(self.app.conf.broker_url)), self._settings.redelivery,
            )
            return
        _LOGGER.info("%d slot(s) published and not sent withdrawn: the next leader publishes them", withdrawn)
        if withdrawn < len(unsent):
            _LOGGER.warning(
                "%d slot(s) published and not sent were published past since, by another scheduler: they are outstanding, "
                "the leader sends them %gs after they were published", len(unsent) - withdrawn, self._settings.redelivery,
            )

    def _record(self, entries: Iterable[_Entry]) -> None:
        """redbeat's record of each entry (in one round trip): its last run, run count and next due time."""
        now = _ms(self.app.now())
        due: dict[str, float] = {}
        with get_redis(self.app).pipeline(transaction=False) as pipe:
            for entry in entries:
                if entry.last is None:
                    continue
                meta = {"last_run_at": _datetime(entry.last), "total_run_count": entry.runs}
                pipe.hset(entry.key, "meta", _META.encode(meta))
                # its next slot, to the millisecond: redbeat's own score is in whole seconds, and
                # earlier than the next slot, so redbeat selects an entry as due on every tick
                due[entry.key] = max(entry.last + entry.interval, now) / 1000
                entry.last = None
            if due:
                pipe.zadd(self.app.redbeat_conf.schedule_key, due)
            pipe.execute()

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

    def _send(self, slot: Slot, producer: Any, batched: bool = False) -> None:
        """Send the slot's task (``batched``: inside a producer's batch, which sends it when it
        ends); a failure names the slot (it stays outstanding) and is raised."""
        try:
            self.app.send_task(
                TASK_NAME, args=[slot.link, slot.ms], task_id=f"{slot.link}@{slot.ms}",
                queue=self._settings.namespace, producer=producer, declare=[] if self._declared else None,
                **({"retry": False} if batched else {}),  # in a batch the send only buffers: nothing to retry
            )
            self._declared = True
        except Exception as error:
            self._not_sent(slot, error)
            raise

    def _not_sent(self, slot: Slot, error: BaseException, how: str = "") -> None:
        _LOGGER.error(
            "%s was not sent (%s%s: %s); it is outstanding: the leader sends it again %gs after it was published",
            slot, f"{how}: " if how else "", type(error).__name__, redact_text(str(error), url_secrets(self.app.conf.broker_url)),
            self._settings.redelivery,
        )


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
