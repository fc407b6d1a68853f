"""Slots published and not yet finished, so that a task message Redis loses is sent again.

kombu's Redis transport takes a message off the queue (BRPOP) and records it as unacked in a
second round trip: a worker killed in between loses the message for good, and so does a send
that fails after the watermark moved. So the watermark's compare-and-set also records the slot
here, in the same Lua script (a slot is never past the watermark without being outstanding);
a worker finishing the slot removes it; the leading scheduler re-sends each slot outstanding
for longer than ``redelivery`` that no worker runs (no ``run:`` claim) and none finished (no
``done:``). A slot may so be *sent* more than once; the worker's claim runs it at most once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import redis

from databay_celery.identity import Slot
from databay_celery.settings import ClusterSettings

__all__ = ["Outstanding"]

_LOGGER = logging.getLogger("databay.CeleryPlanner")

RESEND_BATCH = 1000
"""Overdue slots looked at per tick (the rest wait for the next tick)."""

_PUBLISH = """
local now = redis.call('time')
local score = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local replaced = {}
for i = 2, #KEYS do
    local held = redis.call('get', KEYS[i])
    if tonumber(ARGV[2 * i - 3]) > tonumber(held or '-1') then
        redis.call('set', KEYS[i], ARGV[2 * i - 3])
        redis.call('zadd', KEYS[1], score, ARGV[2 * i - 2])
        replaced[i - 1] = held or ''
    else
        replaced[i - 1] = false
    end
end
return replaced
"""
"""Each slot in turn (KEYS[i + 1]: its link's watermark; ARGV[2i - 1], ARGV[2i]: its ms and member):
move the watermark to it and record it outstanding if it is later. Per slot, the watermark it
replaced ('' for none), or nil if the watermark was already at or past it."""

_WITHDRAW = """
local withdrawn = 0
for i = 2, #KEYS do
    if redis.call('get', KEYS[i]) == ARGV[3 * i - 5] then
        if ARGV[3 * i - 3] == '' then redis.call('del', KEYS[i]) else redis.call('set', KEYS[i], ARGV[3 * i - 3]) end
        redis.call('zrem', KEYS[1], ARGV[3 * i - 4])
        withdrawn = withdrawn + 1
    end
end
return withdrawn
"""
"""Each slot in turn, newest first (ARGV[3i - 2..3i]: its ms, member and the watermark it
replaced): if its link's watermark is still that slot, put the replaced one back and drop the
slot from the outstanding set. The number withdrawn."""


class Outstanding:
    """The cluster's published-and-unfinished slots (a sorted set scored by last send, server time)."""

    def __init__(self, client: redis.Redis, settings: ClusterSettings) -> None:
        self._redis = client
        self._settings = settings
        self._key = f"{settings.namespace}:outstanding"
        self._watermarks = f"{settings.namespace}:published:"
        self._publish = client.register_script(_PUBLISH)
        self._withdraw = client.register_script(_WITHDRAW)

    def watermark(self, link: str) -> int | None:
        """The last slot (ms) published for ``link``, if any."""
        return self.watermarks([link])[0]

    def watermarks(self, links: Sequence[str]) -> list[int | None]:
        """:meth:`watermark` of each link, in one round trip."""
        if not links:
            return []
        values: list[bytes | str | None] = self._redis.mget([self._watermarks + link for link in links])  # type: ignore[assignment]
        return [None if value is None else int(value) for value in values]

    def publish(self, slot: Slot) -> bool:
        """Move the link's watermark to ``slot`` and record it outstanding; False if already past."""
        return self.publish_many([slot])[0] is not None

    def publish_many(self, slots: Sequence[Slot]) -> list[str | None]:
        """:meth:`publish` each slot in turn, in one round trip (a link's slots oldest first).

        Per slot, the watermark it replaced (``""`` if the link had none; :meth:`withdraw` needs
        it), or None if the watermark was already at or past it (the slot is someone else's).
        """
        if not slots:
            return []
        keys = [self._key, *(self._watermarks + slot.link for slot in slots)]
        args = [value for slot in slots for value in (slot.ms, _member(slot))]
        replaced: list[bytes | str | None] = self._publish(keys=keys, args=args)
        return [None if value is None else _text(value) for value in replaced]

    def withdraw(self, published: Sequence[tuple[Slot, str]]) -> int:
        """Undo :meth:`publish_many` for slots that were never sent (given as published, with the
        watermark each replaced): each link's watermark goes back where it was, the slots are no
        longer outstanding, so the next leader publishes them as if this one never had. A slot
        whose link's watermark moved on since (another scheduler published after it) stays
        outstanding, to be sent again after ``redelivery``. The number withdrawn."""
        if not published:
            return 0
        newest_first = published[::-1]
        keys = [self._key, *(self._watermarks + slot.link for slot, _ in newest_first)]
        args = [value for slot, replaced in newest_first for value in (str(slot.ms), _member(slot), replaced)]
        return int(self._withdraw(keys=keys, args=args))

    def finish(self, slot: Slot, pipe: redis.client.Pipeline) -> None:
        """The slot is done (queued on ``pipe``, with the done mark)."""
        pipe.zrem(self._key, _member(slot))

    def overdue(self, slot_key: Callable[[Slot], str], forget_after: float) -> list[Slot]:
        """Slots to send again: outstanding for over ``redelivery`` and neither running nor done.

        Each is re-scored to now (sent again at most once per ``redelivery``); done ones are
        dropped; ones older than ``forget_after`` seconds (their done mark could have expired,
        so a copy might run twice) are dropped with an error.
        """
        seconds, micro = self._redis.time()
        now = seconds * 1000 + micro // 1000
        cutoff = now - self._settings.redelivery * 1000
        members: list[tuple[bytes | str, float]] = self._redis.zrangebyscore(self._key, "-inf", cutoff, start=0, num=RESEND_BATCH, withscores=True)  # type: ignore[assignment]
        if not members:
            return []
        slots = [_slot(member) for member, _ in members]
        held: list[bytes | str | None] = self._redis.mget([slot_key(slot) for slot in slots])  # type: ignore[assignment]
        again = []
        with self._redis.pipeline(transaction=False) as pipe:
            for slot, (member, score), mark in zip(slots, members, held, strict=True):
                if mark is not None and _text(mark).startswith("done:"):
                    pipe.zrem(self._key, member)
                elif mark is None and now - score > forget_after * 1000:
                    _LOGGER.error("%s was never finished in %ds; no longer sent again", slot, forget_after)
                    pipe.zrem(self._key, member)
                elif mark is None:
                    pipe.zadd(self._key, {_member(slot): now}, xx=True)
                    again.append(slot)
            pipe.execute()
        return again


def _member(slot: Slot) -> str:
    return f"{slot.link}@{slot.ms}"


def _slot(member: bytes | str) -> Slot:
    link, _, ms = _text(member).rpartition("@")
    return Slot(link, int(ms))


def _text(value: bytes | str) -> str:
    """Clients differ: redbeat's decodes responses, the workers' does not."""
    return value.decode() if isinstance(value, bytes) else value
