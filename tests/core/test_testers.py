"""The testers must fail bad nodes, not only pass good ones; PlannerTester passes core's test planner."""

import datetime
import unittest

from databay import BasePlanner, Inlet, Outlet
from databay.misc import PlannerTester

from databay_testing import CollectOutlet, ThreadPlanner


def run_case(case_class):
    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(case_class).run(result)
    return result


class ReadsMetadata(Inlet):
    def pull(self, update):
        return self.metadata.get("setting", 1)


class DropsGlobalMetadata(Inlet):
    def pull(self, update):
        from databay import Record

        return Record(1, {})


class Good(Inlet):
    def pull(self, update):
        return [self.new_record(1, {"local": 1}), 2]


def make_inlet_case(inlet_class):
    from databay.misc.inlet_tester import InletTester

    class Case(InletTester):
        def get_inlet(self):
            return inlet_class()

    return Case


def test_inlet_tester_passes_good_inlet():
    result = run_case(make_inlet_case(Good))
    assert result.wasSuccessful() and result.testsRun == 4


def test_inlet_tester_fails_inlet_reading_metadata():
    result = run_case(make_inlet_case(ReadsMetadata))
    assert any("read its global metadata" in str(failure) for _, failure in result.failures)


def test_inlet_tester_fails_inlet_losing_global_metadata():
    result = run_case(make_inlet_case(DropsGlobalMetadata))
    assert any("global metadata lost" in str(failure) for _, failure in result.failures)


def test_inlet_tester_template_itself_is_skipped():
    from databay.misc.inlet_tester import InletTester

    result = run_case(InletTester)
    assert result.wasSuccessful() and len(result.skipped) == 4


class Mutating(Outlet):
    def push(self, records, update):
        for record in records:
            record.payload["_id"] = "added"


class Forgetful(CollectOutlet):
    def push(self, records, update):
        pass


def make_outlet_case(outlet_class, check_written=False):
    from databay.misc.outlet_tester import OutletTester

    class Case(OutletTester):
        def get_outlet(self):
            return outlet_class()

        def written(self, outlet):
            return outlet.payloads if check_written else None

    return Case


def test_outlet_tester_passes_good_outlet():
    result = run_case(make_outlet_case(CollectOutlet, check_written=True))
    assert result.wasSuccessful(), result.failures


def test_outlet_tester_fails_mutating_outlet():
    result = run_case(make_outlet_case(Mutating))
    assert len(result.failures) == 1 and "test_push_does_not_modify_records" in str(result.failures[0][0])


def test_outlet_tester_fails_outlet_that_writes_nothing():
    result = run_case(make_outlet_case(Forgetful, check_written=True))
    assert any("was not written" in str(failure) for _, failure in result.failures)


class TestThreadPlannerHonoursTheContract(PlannerTester):
    """Core's minimal test planner, scheduling from threads of its own, through the shipped PlannerTester."""

    def make_planner(self, links=None, **options):
        return ThreadPlanner(links, **options)


def test_planner_tester_template_itself_is_skipped():
    result = run_case(PlannerTester)
    assert result.wasSuccessful() and len(result.skipped) == result.testsRun > 10


class TwiceADuePlanner(BasePlanner):
    """A planner the simulated clock can step, with a bug: it dispatches each due link twice."""

    def _schedule(self, link):
        link.set_job(datetime.datetime.now() + link.interval)

    def _unschedule(self, link):
        link.set_job(None)

    def _start_planner(self):
        pass

    def _shutdown_planner(self, wait=True):
        pass

    def _next_due(self):
        return min((link.job for link in self.links if link.job is not None), default=None)

    def _run_due(self):
        for link in self.links:
            if link.job is not None and link.job <= datetime.datetime.now():
                link.set_job(link.job + link.interval)
                self._dispatch(link)
                self._dispatch(link)


def test_planner_tester_fails_a_planner_transferring_twice_per_interval():
    class Case(PlannerTester):
        def make_planner(self, links=None, **options):
            return TwiceADuePlanner(links, overlap="concurrent", **options)

    result = unittest.TestResult()
    Case("test_one_transfer_per_interval_for_a_simulated_day").run(result)
    assert len(result.failures) == 1 and "Lists differ" in result.failures[0][1]
