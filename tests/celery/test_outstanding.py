"""The outstanding set in a real Redis: a slot published and never finished nor running (its
message lost) is sent again after ``redelivery``, once per ``redelivery``; finished and running
slots are not."""

from __future__ import annotations

import pytest
import redis
from celery_cluster import wait_for

from databay_celery.coordination import Coordinator
from databay_celery.identity import Slot
from databay_celery.settings import ClusterSettings


@pytest.fixture(params=[False, True], ids=["bytes", "decoded"])
def any_client(redis_server, request):
    """The workers' client returns bytes; the scheduler's (redbeat's) decodes responses."""
    connection = redis.Redis(port=redis_server.port, decode_responses=request.param)
    yield connection
    connection.close()


def test_only_a_lost_slot_is_sent_again_and_once_per_redelivery(any_client, client):
    coordinator = Coordinator(any_client, ClusterSettings(redelivery=2))
    outstanding = coordinator.outstanding
    lost, done, running = Slot("a", 1000), Slot("b", 1000), Slot("c", 1000)
    for slot in (lost, done, running):
        assert outstanding.publish(slot)
    assert not outstanding.publish(Slot("a", 1000)) and not outstanding.publish(Slot("a", 500))  # the watermark holds
    assert outstanding.watermark("a") == 1000
    coordinator.finish(done, "delivered")
    assert coordinator.take(running, "worker-1") == "taken"
    assert outstanding.overdue(coordinator.slot_key, coordinator.done_for) == []  # younger than redelivery

    def overdue_while_running_renewed():  # as the running worker's heartbeat would
        assert coordinator.renew(running, "worker-1")
        return outstanding.overdue(coordinator.slot_key, coordinator.done_for)

    again = wait_for(overdue_while_running_renewed, 5, "the lost slot to be overdue")
    assert again == [lost]
    assert outstanding.overdue(coordinator.slot_key, coordinator.done_for) == []  # not again before another redelivery
    coordinator.finish(lost, "delivered")
    assert client.zrange("databay:outstanding", 0, -1) == [b"c@1000"]  # only the running one is left


def test_a_slot_never_finished_is_dropped_after_forget_after(client):
    coordinator = Coordinator(client, ClusterSettings(redelivery=2))
    assert coordinator.outstanding.publish(Slot("a", 1000))

    def dropped():
        return coordinator.outstanding.overdue(coordinator.slot_key, forget_after=1) == [] and client.zcard("databay:outstanding") == 0

    wait_for(dropped, 5, "the slot to be dropped")
