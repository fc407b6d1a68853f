"""The defaults keep the issue's bounds; link keys and slots are the same in every process."""

from __future__ import annotations

import pytest

from databay import Link
from databay.inlets import NullInlet
from databay.outlets import NullOutlet
from databay_celery.identity import grid, interval_ms, link_keys
from databay_celery.settings import ClusterSettings


def test_defaults_redeliver_within_30s_and_fail_over_within_3s():
    settings = ClusterSettings()
    assert settings.visibility_timeout + settings.restore_interval <= 30
    assert settings.lease < settings.visibility_timeout  # a dead worker's claim is gone before its message returns
    assert settings.lock_timeout + settings.poll <= 3
    options = settings.celery_config("redis://localhost")["broker_transport_options"]
    assert options == {"visibility_timeout": 20.0, "unacked_restore_interval": 5, "unacked_restore_throttle": 1, "unacked_mutex_expire": 5}


def test_celery_takes_messages_late_and_one_at_a_time():
    config = ClusterSettings().celery_config("redis://localhost")
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["worker_prefetch_multiplier"] == 1
    assert config["redbeat_lock_timeout"] == 2 and config["beat_max_loop_interval"] == 0.25
    assert config["broker_transport"] == "databay_celery.transport:Transport"  # survives Redis going away mid-transfer
    assert ClusterSettings().celery_config("rediss://localhost")["broker_transport"] is None  # kombu's, with its TLS defaults


@pytest.mark.parametrize("bad", [{"redelivery": 1}, {"lock_timeout": 2.5}, {"poll": 3}, {"namespace": "a:b"}])
def test_settings_refuse_values_that_break_the_bounds(bad):
    with pytest.raises(ValueError):
        ClusterSettings(**bad)


def _link(tags):
    return Link(NullInlet(), NullOutlet(), 1, tags=tags)


def test_link_keys_are_tags_and_occurrence_when_tags_repeat():
    links = [_link("orders"), _link(None), _link(["a", "b"]), _link(None)]
    assert list(link_keys(links)) == ["orders", "link#0", "a.b", "link#1"]


def test_slots_are_points_of_the_links_grid():
    assert list(grid(1000, 1_999, 5_000)) == [2_000, 3_000, 4_000, 5_000]
    assert list(grid(1000, 2_000, 2_999)) == []
    with pytest.raises(ValueError):
        interval_ms(Link(NullInlet(), NullOutlet(), 0))
