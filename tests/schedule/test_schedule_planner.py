import functools
import threading
import time

import pytest

from databay import Link
from databay.misc import PlannerTester
from databay_schedule import ScheduleIntervalError, SchedulePlanner

from databay_testing import CollectOutlet, ListInlet, listed_plugin
from planner_checks import Background, check_catch_exceptions_alias, check_shutdown_at_exit, wait_for

Planner = functools.partial(SchedulePlanner, refresh_interval=0.01)


class TestPlannerContract(PlannerTester):
    def make_planner(self, links=None, **options):
        return Planner(links, **options)


def test_catch_exceptions_is_a_deprecated_alias():
    check_catch_exceptions_alias(SchedulePlanner)


def test_interval_shorter_than_refresh_interval_is_rejected():
    planner = SchedulePlanner(refresh_interval=0.5)
    assert planner.refresh_interval == 0.5
    with pytest.raises(ScheduleIntervalError, match="shorter than the refresh interval"):
        planner.add_links(Link(ListInlet([1]), CollectOutlet(), 0.1))


def test_two_planners_never_touch_each_others_links():
    first_outlet, second_outlet = CollectOutlet(), CollectOutlet()
    first = Planner(Link(ListInlet([1]), first_outlet, 0.05))
    second = Planner(Link(ListInlet([2]), second_outlet, 0.05))
    background = Background(first)
    wait_for(lambda: len(first_outlet.batches) >= 3)
    second.purge()
    wait_for(lambda: len(first_outlet.batches) >= 5)
    background.stop()
    assert second_outlet.batches == [] and set(first_outlet.payloads) == {1}


def test_overlapping_run_is_skipped_with_warning(caplog):
    release = threading.Event()
    outlet = CollectOutlet()

    class Blocking(ListInlet):
        def pull(self, update):
            release.wait(10)
            return super().pull(update)

    planner = Planner(Link(Blocking([1]), outlet, 0.02), immediate_transfer=False)
    background = Background(planner)
    wait_for(lambda: "skipped 1 due transfer(s)" in caplog.text)
    release.set()
    background.stop()
    assert outlet.updates[0].transfer_number == 0


def test_import_paths_and_listing():
    from databay.planners import SchedulePlanner as by_name
    from databay.planners.schedule_planner import ScheduleIntervalError as error_by_path
    from databay.planners.schedule_planner import SchedulePlanner as by_path

    assert by_name is SchedulePlanner and by_path is SchedulePlanner and error_by_path is ScheduleIntervalError
    assert listed_plugin("databay-schedule")["planners"] == ["SchedulePlanner"]


def test_shutdown_at_exit():
    check_shutdown_at_exit("from databay_schedule import SchedulePlanner as Planner")


def test_restart_does_not_replay_runs_missed_while_stopped():
    outlet = CollectOutlet()
    planner = Planner(Link(ListInlet([1]), outlet, 0.2))
    background = Background(planner)
    wait_for(lambda: len(outlet.batches) == 1)
    background.stop()
    time.sleep(0.5)  # the job falls due while stopped
    background = Background(planner)
    wait_for(lambda: len(outlet.batches) == 2)  # the immediate transfer
    time.sleep(0.1)  # half an interval: a replayed stale run would land here
    assert len(outlet.batches) == 2
    background.stop()
