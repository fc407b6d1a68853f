"""BasePlanner's lifecycle through a minimal real planner that schedules from threads of its own."""

import logging
import threading
import time

import pytest

from databay import BasePlanner, Inlet, Link
from databay.engine.runtime import State
from databay.errors import MissingLinkError, PlannerAlreadyRunningError, PlannerNotRunningError

from databay_testing import CollectOutlet, FailingInlet, ListInlet, ThreadPlanner


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


def start_in_thread(planner) -> threading.Thread:
    thread = threading.Thread(target=planner.start, daemon=True)
    thread.start()
    return thread


def stop(planner, thread) -> None:
    planner.shutdown()
    thread.join(10)
    assert not thread.is_alive(), "start() did not return after shutdown"


class GatedInlet(ListInlet):
    """on_start waits for ``release``; ``entered`` says it is waiting."""

    def __init__(self, data):
        super().__init__(data)
        self.entered, self.release = threading.Event(), threading.Event()
        self.started = self.stopped = 0

    def on_start(self):
        self.entered.set()
        assert self.release.wait(10)
        self.started += 1

    def on_shutdown(self):
        self.stopped += 1


def test_add_remove_purge():
    planner = ThreadPlanner()
    first, second = Link([], [], 1), Link([], [], 1)
    planner.add_links([first, second])
    assert planner.links == [first, second] and first.job is first
    planner.remove_links(first)
    assert planner.links == [second] and first.job is None
    with pytest.raises(MissingLinkError):
        planner.remove_links(first)
    with pytest.raises(TypeError):
        planner.add_links("nope")
    with pytest.raises(ValueError):
        planner.add_links(second)
    planner.purge()
    assert planner.links == [] and second.job is None


def test_start_runs_on_start_immediate_transfer_and_schedule():
    outlet = CollectOutlet()
    planner = ThreadPlanner(Link(ListInlet([1]), outlet, 0.01))
    thread = start_in_thread(planner)
    wait_for(lambda: len(outlet.batches) >= 3)
    stop(planner, thread)
    assert outlet.started == 1 and outlet.stopped == 1
    assert [str(u) for u in outlet.updates[:3]] == ["0", "1", "2"]
    assert planner.state is State.STOPPED and not planner.running


def test_shutdown_before_start_is_honoured():
    outlet = CollectOutlet()
    planner = ThreadPlanner(Link(ListInlet([1]), outlet, 0.01))
    planner.shutdown()  # e.g. a signal handler firing before the starting thread got going
    thread = start_in_thread(planner)
    thread.join(5)
    assert not thread.is_alive() and outlet.started == 0 and outlet.batches == []


def test_shutdown_while_nodes_start_is_honoured():
    inlet, outlet = GatedInlet([1]), CollectOutlet()
    planner = ThreadPlanner(Link(inlet, outlet, 0.01))
    thread = start_in_thread(planner)
    assert inlet.entered.wait(5)
    assert planner.state is State.STARTING
    planner.shutdown(wait=False)
    assert planner.state is State.STOPPING  # no longer running when shutdown(wait=False) returns
    inlet.release.set()
    thread.join(5)
    assert not thread.is_alive()
    assert outlet.batches == [] and (inlet.started, inlet.stopped) == (1, 1) and outlet.stopped == 1


def test_start_twice_raises_and_restart_after_stop_works():
    inlet, outlet = GatedInlet([1]), CollectOutlet()
    planner = ThreadPlanner(Link(inlet, outlet, 60))
    thread = start_in_thread(planner)
    assert inlet.entered.wait(5)
    with pytest.raises(PlannerAlreadyRunningError):
        planner.start()
    inlet.release.set()
    wait_for(lambda: outlet.batches)
    planner.pause()
    stop(planner, thread)
    thread = start_in_thread(planner)  # a pause does not outlive its run
    wait_for(lambda: len(outlet.batches) == 2)
    stop(planner, thread)
    assert outlet.started == 2 and outlet.stopped == 2


def test_pause_and_resume_are_valid_while_starting_and_refused_when_stopped():
    inlet, outlet = GatedInlet([1]), CollectOutlet()
    planner = ThreadPlanner(Link(inlet, outlet, 0.01), immediate_transfer=False)
    with pytest.raises(PlannerNotRunningError):
        planner.pause()
    thread = start_in_thread(planner)
    assert inlet.entered.wait(5)
    planner.pause()  # before the scheduler is up: honoured once it is
    inlet.release.set()
    wait_for(lambda: planner.state is State.RUNNING)
    time.sleep(0.1)  # ten intervals while paused: nothing may have run
    assert outlet.batches == []
    planner.resume()
    wait_for(lambda: outlet.batches)
    stop(planner, thread)
    for call in (planner.pause, planner.resume):
        with pytest.raises(PlannerNotRunningError):
            call()


def test_failing_on_start_shuts_down_started_nodes_and_reports_like_0_3(caplog):
    class BrokenStart(ListInlet):
        def on_start(self):
            raise OSError("no disk")

    first, broken = CollectOutlet(), BrokenStart([1])
    planner = ThreadPlanner(Link(broken, first, 0.01))
    with caplog.at_level(logging.ERROR, logger="databay"):
        thread = start_in_thread(planner)
        thread.join(5)
    assert not thread.is_alive() and first.batches == []
    assert 'on_start inlet exception: "no disk" for inlet: BrokenStart' in caplog.text
    assert not broken.active


def test_failing_immediate_transfer_never_starts_scheduling():
    outlet = CollectOutlet()
    planner = ThreadPlanner(Link(FailingInlet(), outlet, 0.01))
    thread = start_in_thread(planner)
    thread.join(5)
    assert not thread.is_alive() and planner._threads == [] and outlet.stopped == 1


def test_one_failing_on_shutdown_skips_no_other(caplog):
    class BrokenStop(CollectOutlet):
        def on_shutdown(self):
            super().on_shutdown()
            raise OSError("flush failed")

    broken, fine = BrokenStop(), CollectOutlet()
    planner = ThreadPlanner(Link(ListInlet([1]), [fine, broken], 60))
    thread = start_in_thread(planner)
    wait_for(lambda: fine.batches)
    with caplog.at_level(logging.ERROR, logger="databay"):
        stop(planner, thread)
    assert broken.stopped == 1 and fine.stopped == 1
    assert 'on_shutdown outlet exception: "flush failed" for outlet: BrokenStop' in caplog.text


@pytest.mark.parametrize("stop_options", [{}, {"wait": False}, {"timeout": 0.05}])
def test_nodes_shut_down_only_after_running_transfers_finish(stop_options):
    pushing, release, order = threading.Event(), threading.Event(), []

    class SlowOutlet(CollectOutlet):
        def push(self, records, update):
            pushing.set()
            assert release.wait(10)
            order.append("push done")

        def on_shutdown(self):
            order.append("on_shutdown")

    planner = ThreadPlanner(Link(ListInlet([1]), SlowOutlet(), 60))
    thread = start_in_thread(planner)
    assert pushing.wait(5)
    stopper = threading.Thread(target=planner.shutdown, kwargs=stop_options)
    stopper.start()
    wait_for(lambda: planner.state is State.STOPPING)
    assert order == []
    release.set()
    stopper.join(5)
    thread.join(5)
    assert order == ["push done", "on_shutdown"]


def test_a_node_shared_by_two_planners_starts_once_and_stops_with_the_last():
    shared = CollectOutlet()
    first = ThreadPlanner(Link(ListInlet([1]), shared, 60))
    second = ThreadPlanner(Link(ListInlet([2]), shared, 60))
    threads = [start_in_thread(first), start_in_thread(second)]
    wait_for(lambda: sorted(shared.payloads) == [1, 2])
    assert shared.started == 1
    stop(first, threads[0])
    assert shared.stopped == 0 and shared.active
    stop(second, threads[1])
    assert shared.stopped == 1


def test_one_link_on_two_planners():
    outlet = CollectOutlet()
    link = Link(ListInlet([1]), outlet, 60)
    first, second = ThreadPlanner(link), ThreadPlanner(link)
    threads = [start_in_thread(first), start_in_thread(second)]
    wait_for(lambda: len(outlet.batches) == 2)
    first.remove_links(link)
    assert second.links == [link]
    for planner, thread in zip((first, second), threads, strict=True):
        stop(planner, thread)
    assert outlet.started == 1 and outlet.stopped == 1


def test_unignored_exception_logs_and_shuts_down(caplog):
    outlet = CollectOutlet()
    planner = ThreadPlanner(Link(FailingInlet(), outlet, 0.01), immediate_transfer=False)
    with caplog.at_level(logging.ERROR, logger="databay"):
        thread = start_in_thread(planner)
        thread.join(5)
    assert not thread.is_alive()
    assert "inlet broke" in caplog.text and "Raised when executing Link" in caplog.text
    assert outlet.stopped == 1


def test_ignored_exception_keeps_going(caplog):
    inlet = FailingInlet()
    calls = []
    inlet.pull = lambda update: calls.append(update) or (_ for _ in ()).throw(ValueError("again"))
    planner = ThreadPlanner(Link(inlet, CollectOutlet(), 0.01), ignore_exceptions=True)
    thread = start_in_thread(planner)
    wait_for(lambda: len(calls) >= 3)
    assert planner.running
    stop(planner, thread)


def test_links_added_while_running_are_started():
    planner = ThreadPlanner()
    thread = start_in_thread(planner)
    wait_for(lambda: planner.state is State.RUNNING)
    outlet = CollectOutlet()
    planner.add_links(Link(ListInlet([1]), outlet, 0.01))
    wait_for(lambda: outlet.batches)
    stop(planner, thread)
    assert outlet.started == 1 and outlet.stopped == 1


def test_force_transfer_and_shared_nodes_start_once():
    outlet = CollectOutlet()
    links = [Link(ListInlet([1]), outlet, 60), Link(ListInlet([2]), outlet, 60)]
    planner = ThreadPlanner(links, immediate_transfer=False)
    thread = start_in_thread(planner)
    wait_for(lambda: planner.state is State.RUNNING)
    planner.force_transfer()
    stop(planner, thread)
    assert sorted(outlet.payloads) == [1, 2]
    assert outlet.started == 1 and outlet.stopped == 1


def test_base_planner_is_abstract_and_running_follows_the_lifecycle():
    with pytest.raises(TypeError):
        BasePlanner()

    class Minimal(BasePlanner):
        def _schedule(self, link): ...
        def _unschedule(self, link): ...
        def _start_planner(self): ...
        def _shutdown_planner(self, wait=True): ...

    planner = Minimal()
    assert planner.state is State.IDLE and planner.running is False


def test_blocking_inlet_runs_off_the_loop_on_a_planner():
    loop_threads, pulls = set(), []

    class Waiting(Inlet):
        blocking = True

        def pull(self, update):
            pulls.append(threading.current_thread().name)
            return [1]

    class AsyncOut(CollectOutlet):
        async def push(self, records, update):
            loop_threads.add(threading.current_thread().name)
            CollectOutlet.push(self, records, update)

    outlet = AsyncOut()
    planner = ThreadPlanner(Link(Waiting(), outlet, 60))
    thread = start_in_thread(planner)
    wait_for(lambda: outlet.batches)
    stop(planner, thread)
    assert pulls and not set(pulls) & loop_threads


def test_unignored_failure_lets_other_links_transfers_finish():
    import asyncio

    in_flight = threading.Event()

    class SlowAsync(ListInlet):
        async def pull(self, update):
            in_flight.set()
            await asyncio.sleep(0.3)
            return [update.transfer_number]

    class FailsOnceTheOtherIsInFlight(ListInlet):
        def pull(self, update):
            if in_flight.is_set():  # forced order: the failure comes while the slow transfer runs
                raise ValueError("inlet broke")
            return []

    survivor = CollectOutlet()
    planner = ThreadPlanner(
        [Link(SlowAsync([]), survivor, 0.05), Link(FailsOnceTheOtherIsInFlight([]), CollectOutlet(), 0.05)],
        immediate_transfer=False,
    )
    thread = start_in_thread(planner)
    thread.join(10)
    assert not thread.is_alive()
    assert survivor.batches, "a transfer in flight when another link failed was cancelled"


def test_force_transfer_runs_even_while_paused():
    outlet = CollectOutlet()
    planner = ThreadPlanner(Link(ListInlet([1]), outlet, 60), immediate_transfer=False)
    thread = start_in_thread(planner)
    wait_for(lambda: planner.state is State.RUNNING)
    planner.pause()
    planner.force_transfer()
    assert outlet.payloads == [1]
    stop(planner, thread)


def test_a_planner_that_only_schedules_starts_no_node_and_runs_no_immediate_transfer():
    class SchedulingOnly(ThreadPlanner):
        transfers_here = False  # as CeleryPlanner: workers elsewhere start nodes and transfer

        def _start_planner(self):
            scheduling.set()

    scheduling = threading.Event()
    outlet = CollectOutlet()
    planner = SchedulingOnly(Link(ListInlet([1]), outlet, 60), immediate_transfer=True)
    thread = start_in_thread(planner)
    assert scheduling.wait(10)
    planner.add_links(Link(ListInlet([2]), CollectOutlet(), 60))  # added while running: nothing started either
    stop(planner, thread)
    assert (outlet.started, outlet.batches, outlet.stopped) == (0, [], 0)
    assert planner.exception is None
    with pytest.raises(RuntimeError, match="only schedules"):
        planner.force_transfer()
    assert outlet.batches == []


def test_a_failed_transfers_log_line_sees_the_context_variables_of_the_code_that_started_the_planner():
    import contextvars

    request_id = contextvars.ContextVar("request_id", default="<unset>")
    seen: list[str] = []

    class RecordRequestId(logging.Filter):
        def filter(self, record):
            if "Raised when executing" in record.getMessage():
                seen.append(request_id.get())
            return True

    planner = ThreadPlanner(Link(FailingInlet(), CollectOutlet(), 0.05), immediate_transfer=False)

    def start():
        request_id.set("pipeline-42")
        planner.start()

    log_filter = RecordRequestId()
    logging.getLogger("databay.BasePlanner").addFilter(log_filter)
    try:
        thread = threading.Thread(target=start, daemon=True)
        thread.start()
        thread.join(10)  # the unignored failure stops the planner
    finally:
        logging.getLogger("databay.BasePlanner").removeFilter(log_filter)
    assert not thread.is_alive() and seen == ["pipeline-42"]


def test_a_transfer_raising_a_base_exception_is_reported_not_swallowed(caplog):
    class Fatal(BaseException):  # e.g. pytest.fail() in a node, gevent's GreenletExit
        pass

    class FatalInlet(Inlet):
        async def pull(self, update):
            raise Fatal("stop the world")

    planner = ThreadPlanner(Link(FatalInlet(), CollectOutlet(), 0.05, tags="fatal"), immediate_transfer=False)
    with caplog.at_level(logging.ERROR):
        thread = start_in_thread(planner)
        wait_for(lambda: "A transfer of" in caplog.text)
        stop(planner, thread)
    assert "raised Fatal" in caplog.text and "stop the world" in caplog.text
