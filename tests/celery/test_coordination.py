"""Claims and overlap marks in a real Redis: at most once per slot, and nothing a dead worker
left outlives its lease."""

from __future__ import annotations

import pytest
from celery_cluster import wait_for

from databay_celery.coordination import Coordinator
from databay_celery.identity import Slot
from databay_celery.settings import ClusterSettings

SETTINGS = ClusterSettings(redelivery=2.5)  # leases of 1 s


@pytest.fixture
def coordinator(client):
    return Coordinator(client, SETTINGS)


def test_a_slot_is_taken_once_and_stays_done(coordinator):
    slot = Slot("orders", 1000)
    assert coordinator.take(slot, "a") == "taken"
    assert coordinator.take(slot, "b") == "busy"
    coordinator.finish(slot, "delivered")
    assert coordinator.take(slot, "b") == "done"


def test_a_dead_runs_claim_expires_and_a_live_one_is_renewed(coordinator):
    dead, live = Slot("orders", 1000), Slot("orders", 2000)
    coordinator.take(dead, "dead")
    coordinator.take(live, "live")
    wait_for(lambda: coordinator.renew(live, "live") and coordinator.take(dead, "next") == "taken", 5, "the claim to expire")
    assert coordinator.take(live, "other") == "busy"


def test_overlap_limits_hold_across_callers_and_expire_with_a_dead_worker(coordinator):
    assert coordinator.enter("orders", "first", "skip", 10)
    assert not coordinator.enter("orders", "second", "skip", 10)
    assert coordinator.running("orders") == 1
    coordinator.leave("orders", "first")
    assert coordinator.enter("orders", "second", "skip", 10)  # and "second" now dies: no leave, no renewal
    wait_for(lambda: coordinator.enter("orders", "third", "skip", 10), 5, "the dead mark to expire")


def test_concurrent_and_wait_admit_their_number(coordinator):
    assert [coordinator.enter("c", f"t{n}", "concurrent", 3) for n in range(4)] == [True, True, True, False]
    assert [coordinator.enter("w", f"t{n}", "wait", 10) for n in range(3)] == [True, True, False]
    assert coordinator.take_turn("w", "t0") and not coordinator.take_turn("w", "t1")
    coordinator.leave("w", "t0")
    assert coordinator.take_turn("w", "t1")
