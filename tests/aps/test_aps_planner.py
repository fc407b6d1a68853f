import warnings

import pytest

from databay import Link
from databay.misc import PlannerTester
from databay_aps import APSPlanner, ApsPlanner

from databay_testing import CollectOutlet, ListInlet, listed_plugin, track_concurrency
from planner_checks import Background, SlowAsyncInlet, check_catch_exceptions_alias, check_shutdown_at_exit, wait_for


class TestPlannerContract(PlannerTester):
    def make_planner(self, links=None, **options):
        return ApsPlanner(links, **options)


def test_catch_exceptions_is_a_deprecated_alias():
    check_catch_exceptions_alias(ApsPlanner)


def test_async_links_share_one_loop_thread_not_workers():
    inlets = [SlowAsyncInlet(delay=0.05) for _ in range(40)]
    planner = ApsPlanner([Link(inlet, CollectOutlet(), 0.1) for inlet in inlets], threads=2)
    background = Background(planner)
    wait_for(lambda: all(inlet.finished >= 2 for inlet in inlets))
    background.stop()
    threads = set().union(*(inlet.threads for inlet in inlets))
    assert len(threads) == 1, threads


@pytest.mark.parametrize(("max_instances", "expect_overlap"), [(1, False), (3, True)])
def test_overlap_skips_by_default_and_max_instances_allows_concurrency(max_instances, expect_overlap):
    inlet = SlowAsyncInlet(delay=0.25)
    running: dict = {}
    track_concurrency(inlet, running)
    planner = ApsPlanner(Link(inlet, CollectOutlet(), 0.05), job_defaults_override={"max_instances": max_instances})
    background = Background(planner)
    wait_for(lambda: inlet.finished >= 3)
    background.stop()
    assert (running["max"] > 1) is expect_overlap, running


def test_pause_and_resume():
    outlet = CollectOutlet()
    planner = ApsPlanner(Link(ListInlet([1]), outlet, 0.05))
    background = Background(planner)
    wait_for(lambda: outlet.batches)
    planner.pause()
    assert planner.running
    planner.resume()
    count = len(outlet.batches)
    wait_for(lambda: len(outlet.batches) > count)
    background.stop()


def test_repr_alias_and_import_paths():
    assert repr(ApsPlanner()) == "ApsPlanner(threads:30)"
    with pytest.warns(DeprecationWarning):
        assert isinstance(APSPlanner(), ApsPlanner)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from databay.planners import ApsPlanner as by_name
        from databay.planners.aps_planner import ApsPlanner as by_path
    assert by_name is ApsPlanner and by_path is ApsPlanner


def test_listed_by_databay_plugins():
    assert listed_plugin("databay-aps")["planners"] == ["ApsPlanner", "APSPlanner"]


def test_shutdown_at_exit():
    check_shutdown_at_exit("from databay_aps import ApsPlanner as Planner")
