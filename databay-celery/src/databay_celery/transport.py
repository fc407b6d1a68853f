"""kombu's Redis transport, with a worker that outlives Redis going away mid-transfer.

When the broker connection breaks, Celery (5.7) first ``collect()``s the dead connection, which
detaches the transport from its channel, then closes it. Two calls then build a Redis client
from the detached transport and raise ``AttributeError`` (``'NoneType' object has no attribute
'hostname'``, then ``... 'client'``), which Celery reports as an unrecoverable error: the worker
process exits. Closing the channel restores the messages the worker still holds unacknowledged
(its transfers in flight); and each of those transfers, when it ends, acknowledges its message
on that channel. So a Redis restart (or any broken connection) while a transfer ran ended the
worker (kombu 5.7.0, celery 5.7.0).

Here both are skipped on a detached channel. Nothing is lost: kombu keeps every delivered message
in Redis's unacked set until it is acknowledged, so the message comes back after the visibility
timeout (``0.8 * redelivery``), as for a worker that died, and the slot's claim (done, or held)
keeps it from running twice. The worker reconnects and goes on.

Used for ``redis://`` broker URLs (:meth:`ClusterSettings.celery_config`); other schemes
(``rediss://``, Sentinel) keep kombu's transport as it is.
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.transport import redis as kombu_redis  # type: ignore[import-untyped]
from kombu.transport import virtual  # type: ignore[import-untyped]

__all__ = ["Transport"]

_LOGGER = logging.getLogger("databay.CeleryPlanner")


class QoS(kombu_redis.QoS):  # type: ignore[misc]
    """kombu's, but on a channel whose transport is already detached (a broken connection),
    leaves the unacknowledged messages in Redis for the visibility timeout instead of raising."""

    def _detached(self) -> bool:
        transport = self.channel.connection
        return transport is None or transport.client is None

    def restore_unacked(self, client: Any = None) -> Any:
        if client is None and self._detached():
            delivered: Any = self._delivered
            _LOGGER.warning(
                "the broker connection broke with %d message(s) unacknowledged: they return to the queue "
                "after the visibility timeout, and a slot already done is not run again", len(delivered),
            )
            delivered.clear()
            return None
        return super().restore_unacked(client)

    def ack(self, delivery_tag: Any) -> None:
        if self._detached():
            _LOGGER.info("a message's acknowledgement fell on a broken broker connection: it returns after the visibility timeout and finds its slot done")
            virtual.QoS.ack(self, delivery_tag)  # this process's bookkeeping only
            return
        super().ack(delivery_tag)

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        if self._detached():
            _LOGGER.info("a message's rejection fell on a broken broker connection: it returns after the visibility timeout")
            virtual.QoS.ack(self, delivery_tag)
            return
        super().reject(delivery_tag, requeue=requeue)


class Channel(kombu_redis.Channel):  # type: ignore[misc]
    QoS = QoS


class Transport(kombu_redis.Transport):  # type: ignore[misc]
    """kombu's Redis transport with :class:`QoS` (see the module docs)."""

    Channel = Channel
