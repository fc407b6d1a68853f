"""What the workers of one cluster agree on, in Redis: which (link, slot) is taken or done,
which transfers of a link run now (the overlap policy, cluster-wide), the last run of each
link and which workers are alive.

Every mark a running transfer leaves is a lease that its worker's heartbeat renews, so a
worker that dies leaves nothing that outlives it by more than the lease. Times come from the
Redis server's clock, never from the machines', so skewed clocks cannot stretch a lease.
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

import redis

from databay.engine.overlap import Overlap, instance_limit
from databay_celery.identity import Slot
from databay_celery.outstanding import Outstanding
from databay_celery.settings import ClusterSettings

__all__ = ["Coordinator", "Claim"]

Claim = Literal["taken", "busy", "done"]

_TAKE = """
local held = redis.call('get', KEYS[1])
if not held or held == ARGV[1] then
    redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return 'taken'
end
if string.sub(held, 1, 4) == 'run:' then return 'busy' end
return 'done'
"""

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""

_ENTER = """
local now = redis.call('time')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('zremrangebyscore', KEYS[1], '-inf', ms)
local present = redis.call('zscore', KEYS[1], ARGV[1])
if present or redis.call('zcard', KEYS[1]) < tonumber(ARGV[3]) then
    redis.call('zadd', KEYS[1], ms + tonumber(ARGV[2]), ARGV[1])
    redis.call('pexpire', KEYS[1], ARGV[2])
    return 1
end
return 0
"""

_RENEW_MEMBER = """
local now = redis.call('time')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if redis.call('zscore', KEYS[1], ARGV[1]) then
    redis.call('zadd', KEYS[1], ms + tonumber(ARGV[2]), ARGV[1])
    redis.call('pexpire', KEYS[1], ARGV[2])
    return 1
end
return 0
"""


class Coordinator:
    """One process's view of the cluster's shared state (thread-safe: redis-py pools connections)."""

    def __init__(self, client: redis.Redis, settings: ClusterSettings) -> None:
        self._redis = client
        self._settings = settings
        self._prefix = f"{settings.namespace}:"
        self._lease_ms = round(settings.lease * 1000)
        self._take = client.register_script(_TAKE)
        self._renew = client.register_script(_RENEW)
        self._enter = client.register_script(_ENTER)
        self._renew_member = client.register_script(_RENEW_MEMBER)
        self.outstanding = Outstanding(client, settings)

    @property
    def done_for(self) -> int:
        """Seconds a finished slot is remembered: far longer than any redelivered copy takes to come."""
        return max(3600, round(self._settings.redelivery * 10))

    # -- (link, slot): at most once -------------------------------------------------------------

    def slot_key(self, slot: Slot) -> str:
        """The slot's claim: ``run:<token>`` while a live run holds it, ``done:<outcome>`` after."""
        return f"{self._prefix}slot:{slot.link}:{slot.ms}"

    def take(self, slot: Slot, token: str) -> Claim:
        """Claim a slot for this run: ``"taken"``; ``"busy"`` while another live run holds it;
        ``"done"`` once any run finished it."""
        result = _text(self._take(keys=[self.slot_key(slot)], args=[f"run:{token}", self._lease_ms]))
        return "taken" if result == "taken" else "busy" if result == "busy" else "done"

    def renew(self, slot: Slot, token: str) -> bool:
        """Extend this run's claim; False when it has expired (another run may have taken it)."""
        return bool(self._renew(keys=[self.slot_key(slot)], args=[f"run:{token}", self._lease_ms]))

    def finish(self, slot: Slot, outcome: str) -> None:
        """Mark the slot done (``outcome``: delivered, failed, skipped), for ``done_for`` seconds;
        it is no longer outstanding."""
        with self._redis.pipeline() as pipe:
            pipe.set(self.slot_key(slot), f"done:{outcome}", ex=self.done_for)
            self.outstanding.finish(slot, pipe)
            pipe.execute()

    # -- overlap, cluster-wide ------------------------------------------------------------------

    def _running_key(self, link: str, name: str) -> str:
        return f"{self._prefix}{name}:{link}"

    def enter(self, link: str, token: str, overlap: Overlap, max_instances: int) -> bool:
        """Whether a transfer of ``link`` may start (or, under ``"wait"``, queue for its turn)
        now, given the live transfers of it across the cluster; a refusal means: skip it."""
        return self._admit(self._running_key(link, "running"), token, instance_limit(overlap, max_instances))

    def take_turn(self, link: str, token: str) -> bool:
        """Under ``"wait"``: whether this transfer's turn has come (one runs at a time)."""
        return self._admit(self._running_key(link, "turn"), token, 1)

    def _admit(self, key: str, token: str, limit: int) -> bool:
        return bool(self._enter(keys=[key], args=[token, self._lease_ms, limit]))

    def keep(self, link: str, token: str) -> None:
        """Renew a running transfer's overlap marks."""
        for name in ("running", "turn"):
            self._renew_member(keys=[self._running_key(link, name)], args=[token, self._lease_ms])

    def leave(self, link: str, token: str) -> None:
        """A transfer of ``link`` is over: it no longer counts for the overlap policy."""
        with self._redis.pipeline() as pipe:
            pipe.zrem(self._running_key(link, "running"), token)
            pipe.zrem(self._running_key(link, "turn"), token)
            pipe.execute()

    def running(self, link: str) -> int:
        """Live transfers of ``link`` across the cluster (expired marks excluded)."""
        server_seconds, micro = self._redis.time()
        now_ms = server_seconds * 1000 + micro // 1000
        return int(self._redis.zcount(self._running_key(link, "running"), now_ms, "+inf"))

    # -- what status shows -----------------------------------------------------------------------

    def record_run(self, slot: Slot, outcome: str, worker: str, seconds: float) -> None:
        """Remember the last run of the slot's link."""
        run = {"slot": slot.ms, "outcome": outcome, "worker": worker, "seconds": round(seconds, 3), "at": time.time()}
        self._redis.hset(f"{self._prefix}last-run", slot.link, json.dumps(run))

    def last_runs(self) -> dict[str, dict[str, Any]]:
        """The last run of each link, by link key."""
        raw = self._redis.hgetall(f"{self._prefix}last-run")
        return {_text(key): json.loads(value) for key, value in raw.items()}

    def alive(self, worker: str, facts: dict[str, Any]) -> None:
        """Announce a live worker for a few heartbeats."""
        self._redis.set(f"{self._prefix}worker:{worker}", json.dumps(facts), px=self._lease_ms)

    def gone(self, worker: str) -> None:
        """A worker stopped."""
        self._redis.delete(f"{self._prefix}worker:{worker}")

    def leader(self) -> dict[str, Any] | None:
        """The scheduler publishing now (its PID and host), if any."""
        value = self._redis.get(f"{self._prefix}leader")
        return None if value is None else json.loads(value)  # type: ignore[no-any-return]

    def workers(self) -> dict[str, dict[str, Any]]:
        """Live workers by node name."""
        keys = sorted(self._redis.scan_iter(match=f"{self._prefix}worker:*"))
        values = self._redis.mget(keys) if keys else []
        return {
            _text(key).removeprefix(f"{self._prefix}worker:"): json.loads(value)
            for key, value in zip(keys, values, strict=True) if value is not None
        }

    def queue_depth(self) -> int:
        """Messages waiting in the cluster's queue (kombu keeps one list per priority step)."""
        queue = self._settings.namespace
        keys = [queue, *(f"{queue}\x06\x16{step}" for step in (3, 6, 9))]
        with self._redis.pipeline() as pipe:
            for key in keys:
                pipe.llen(key)
            return sum(pipe.execute())


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
