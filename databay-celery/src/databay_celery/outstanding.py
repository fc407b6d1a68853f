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
from collections.abc import Callable

import redis

from databay_celery.identity import Slot
from databay_celery.settings import ClusterSettings

__all__ = ["Outstanding"]

_LOGGER = logging.getLogger("databay.CeleryPlanner")

RESEND_BATCH = 1000
"""Overdue slots looked at per tick (the rest wait for the next tick)."""

_PUBLISH = """
local last = tonumber(redis.call('get', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > last then
    redis.call('set', KEYS[1], ARGV[1])
    local now = redis.call('time')
    redis.call('zadd', KEYS[2], tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000), ARGV[2])
    return 1
end
return 0
"""


class Outstanding:
    """The cluster's published-and-unfinished slots (a sorted set scored by last send, server time)."""

    def __init__(self, client: redis.Redis, settings: ClusterSettings) -> None:
        self._redis = client
        self._settings = settings
        self._key = f"{settings.namespace}:outstanding"
        self._watermarks = f"{settings.namespace}:published:"
        self._publish = client.register_script(_PUBLISH)

    def watermark(self, link: str) -> int | None:
        """The last slot (ms) published for ``link``, if any."""
        value = self._redis.get(self._watermarks + link)
        return None if value is None else int(value)

    def publish(self, slot: Slot) -> bool:
        """Move the link's watermark to ``slot`` and record it outstanding; False if already past."""
        return bool(self._publish(keys=[self._watermarks + slot.link, self._key], args=[slot.ms, _member(slot)]))

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
