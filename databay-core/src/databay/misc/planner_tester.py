"""PlannerTester: a ready-made ``unittest.TestCase`` proving a planner honours databay's lifecycle contract.

Subclass it and implement :meth:`PlannerTester.make_planner`, passing its keyword options on::

    class MyPlannerTest(PlannerTester):
        def make_planner(self, links, **options):
            return MyPlanner(links, **options)

It runs the planner for real, in a thread, with short intervals (and, for planners the simulated
clock can step, a day of five-minute transfers in simulated time). Tests wait for conditions,
never for a fixed time, except where they check that nothing *more* happens.
"""

from __future__ import annotations

import asyncio
import datetime
import importlib.util
import threading
import time
from collections.abc import Callable
from typing import Any

from databay.base_planner import BasePlanner
from databay.engine.runtime import State
from databay.errors import PlannerAlreadyRunningError
from databay.inlet import Inlet
from databay.link import Link
from databay.misc.template import TesterTemplate
from databay.outlet import Outlet
from databay.record import Record
from databay.update import Update

__all__ = ["Background", "PlannerTester", "SlowAsyncInlet", "wait_for"]

INTERVAL = 0.05
"""Seconds between transfers of the tests' short-interval links."""


def wait_for(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll ``predicate`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


class Background:
    """Runs ``planner.start()`` in a thread; :meth:`stop` shuts it down and checks start returned."""

    def __init__(self, planner: BasePlanner):
        self.planner = planner
        self.thread = threading.Thread(target=planner.start, daemon=True)
        self.thread.start()
        wait_for(lambda: planner.state is not State.IDLE or not self.thread.is_alive())

    def stop(self, wait: bool = True) -> None:
        self.planner.shutdown(wait)  # valid in every state; the run has begun, so it ends it
        self.thread.join(10)
        assert not self.thread.is_alive(), "start() did not return after shutdown"


class _Count(Inlet):
    """Pulls the transfer number, remembering the simulated or real time of each pull."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[datetime.datetime] = []

    def pull(self, update: Update) -> list[int]:
        self.times.append(datetime.datetime.now(datetime.UTC))
        return [update.transfer_number]


class _Failing(Inlet):
    def pull(self, update: Update) -> Any:
        raise ValueError("PlannerTester: inlet broke")


class SlowAsyncInlet(Inlet):
    """Awaits ``delay`` seconds per pull; remembers which threads pulled and how many pulls finished."""

    def __init__(self, delay: float, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.delay = delay
        self.threads: set[str] = set()
        self.finished = 0

    async def pull(self, update: Update) -> list[int]:
        self.threads.add(threading.current_thread().name)
        await asyncio.sleep(self.delay)
        self.finished += 1
        return [update.transfer_number]


class _Held(Inlet):
    """A sync pull held until :attr:`release` is set; counts pulls and their peak concurrency."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.pulls = self.running = self.max_running = 0
        self._lock = threading.Lock()

    def pull(self, update: Update) -> list[int]:
        with self._lock:
            self.pulls += 1
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        self.release.wait(30)  # bounded: a broken planner fails the test rather than hanging it
        with self._lock:
            self.running -= 1
        return [update.transfer_number]


class _Collect(Outlet):
    """Keeps every batch and update; counts on_start/on_shutdown and the planner state each saw."""

    def __init__(self, planner: Callable[[], BasePlanner | None] = lambda: None):
        super().__init__()
        self.batches: list[list[Record]] = []
        self.updates: list[Update] = []
        self.started = self.stopped = 0
        self.states: list[State] = []
        self._planner = planner

    def push(self, records: list[Record], update: Update) -> None:
        self.batches.append(records)
        self.updates.append(update)

    @property
    def payloads(self) -> list[Any]:
        return [record.payload for batch in self.batches for record in batch]

    def _note_state(self) -> None:
        planner = self._planner()
        if planner is not None:
            self.states.append(planner.state)

    def on_start(self) -> None:
        self.started += 1
        self._note_state()

    def on_shutdown(self) -> None:
        self.stopped += 1
        self._note_state()


class PlannerTester(TesterTemplate):
    """Checks states, start/shutdown from any thread and at any moment, pause/resume, intervals,
    immediate transfers, node lifecycles, overlap policies and exception handling."""

    __test__ = False  # a template: its subclasses are collected (TesterTemplate)

    def make_planner(self, links: Link | list[Link] | None = None, **options: Any) -> BasePlanner:
        """Implement this method to return your planner governing ``links``, built with ``options``
        (BasePlanner's keyword arguments: ``immediate_transfer``, ``ignore_exceptions``, ``overlap``, ...)."""
        raise NotImplementedError("Implement make_planner(links, **options) to return your planner")

    def setUp(self) -> None:
        if type(self) is PlannerTester:
            self.skipTest("PlannerTester is a template: subclass it and implement make_planner()")

    def run_in_background(self, planner: BasePlanner) -> Background:
        """Start ``planner`` in a thread; stopped after the test if still running."""
        background = Background(planner)
        self.addCleanup(background.stop)
        return background

    # -- lifecycle ---------------------------------------------------------------------------

    def test_states_and_node_lifecycle(self) -> None:
        """idle → starting (nodes start) → running → stopping (nodes shut down) → stopped, each node once."""
        planner: list[BasePlanner] = []
        outlet = _Collect(lambda: planner[0])
        planner.append(self.make_planner(Link(_Count(), outlet, INTERVAL)))
        self.assertIs(planner[0].state, State.IDLE)
        background = self.run_in_background(planner[0])
        wait_for(lambda: len(outlet.batches) >= 3)
        self.assertIs(planner[0].state, State.RUNNING)
        background.stop()
        self.assertIs(planner[0].state, State.STOPPED)
        self.assertEqual((outlet.started, outlet.stopped), (1, 1))
        self.assertEqual(outlet.states, [State.STARTING, State.STOPPING])
        self.assertEqual([update.transfer_number for update in outlet.updates[:3]], [0, 1, 2])

    def test_start_while_running_raises(self) -> None:
        planner = self.make_planner(Link(_Count(), _Collect(), 60))
        self.run_in_background(planner)
        with self.assertRaises(PlannerAlreadyRunningError):
            planner.start()

    def test_shutdown_before_start_is_honoured(self) -> None:
        """A shutdown while idle makes the next start end at once: no node starts, nothing transfers."""
        outlet = _Collect()
        planner = self.make_planner(Link(_Count(), outlet, INTERVAL))
        planner.shutdown()
        planner.start()
        self.assertEqual((outlet.started, outlet.batches), (0, []))
        self.assertIs(planner.state, State.STOPPED)

    def test_shutdown_from_another_thread_while_starting(self) -> None:
        """A shutdown that lands while nodes start stops the start: no scheduling, nodes shut down."""
        release = threading.Event()
        planner: list[BasePlanner] = []

        class SlowStart(_Collect):
            def on_start(self) -> None:
                super().on_start()
                release.wait(10)

        outlet = SlowStart(lambda: planner[0])
        planner.append(self.make_planner(Link(_Count(), outlet, INTERVAL)))
        thread = threading.Thread(target=planner[0].start, daemon=True)
        thread.start()
        wait_for(lambda: outlet.started)
        self.assertIs(planner[0].state, State.STARTING)
        stopper = threading.Thread(target=planner[0].shutdown, daemon=True)
        stopper.start()
        wait_for(lambda: planner[0].state is State.STOPPING)
        release.set()
        thread.join(10)
        stopper.join(10)
        self.assertFalse(thread.is_alive() or stopper.is_alive(), "start() or shutdown() did not return")
        self.assertEqual((outlet.batches, outlet.stopped), ([], 1))

    def test_shutdown_right_after_start_is_never_lost(self) -> None:
        for _ in range(20):  # the race: start() in a thread, shutdown() before it is up
            outlet = _Collect()
            planner = self.make_planner(Link(_Count(), outlet, INTERVAL))
            thread = threading.Thread(target=planner.start, daemon=True)
            thread.start()
            planner.shutdown(wait=False)
            thread.join(10)
            self.assertFalse(thread.is_alive(), "start() never returned after an early shutdown")
            self.assertEqual(outlet.started, outlet.stopped)

    def test_pause_and_resume_in_every_state(self) -> None:
        """Refused while idle and once stopped; honoured while starting and running."""
        release = threading.Event()

        class SlowStart(_Collect):
            def on_start(self) -> None:
                super().on_start()
                release.wait(10)

        outlet = SlowStart()
        planner = self.make_planner(Link(_Count(), outlet, INTERVAL), immediate_transfer=False)
        for call in (planner.pause, planner.resume):
            with self.assertRaises(planner.not_running_error):
                call()
        background = self.run_in_background(planner)
        wait_for(lambda: outlet.started)
        planner.pause()  # while starting: scheduling begins paused
        release.set()
        wait_for(lambda: planner.state is State.RUNNING)
        time.sleep(INTERVAL * 4)  # paused: nothing may transfer meanwhile
        self.assertEqual(outlet.batches, [])
        planner.resume()
        wait_for(lambda: len(outlet.batches) >= 2)
        planner.pause()
        planner.resume()
        count = len(outlet.batches)
        wait_for(lambda: len(outlet.batches) > count)
        background.stop()
        for call in (planner.pause, planner.resume):
            with self.assertRaises(planner.not_running_error):
                call()

    def test_shutdown_waits_for_running_transfer(self) -> None:
        """Nodes shut down only after the transfer in flight has finished."""
        inlet, outlet = SlowAsyncInlet(delay=0.3), _Collect()
        background = self.run_in_background(self.make_planner(Link(inlet, outlet, 60)))
        wait_for(lambda: inlet.threads)  # the immediate transfer is under way
        background.stop(wait=True)
        self.assertEqual((inlet.finished, len(outlet.batches), outlet.stopped), (1, 1, 1))

    def test_node_shared_by_links_starts_and_stops_once(self) -> None:
        shared = _Collect()
        planner = self.make_planner([Link(_Count(), shared, INTERVAL), Link(_Count(), shared, INTERVAL)])
        background = self.run_in_background(planner)
        wait_for(lambda: len(shared.batches) >= 4)
        background.stop()
        self.assertEqual((shared.started, shared.stopped), (1, 1))

    # -- transfers ---------------------------------------------------------------------------

    def test_immediate_transfer(self) -> None:
        """On start, links with immediate_transfer transfer once, unless the planner's option is off."""
        planner_off, link_on, link_off = _Collect(), _Collect(), _Collect()
        self.run_in_background(self.make_planner(Link(_Count(), planner_off, 60), immediate_transfer=False)).stop()
        planner = self.make_planner([Link(_Count(), link_on, 60), Link(_Count(), link_off, 60, immediate_transfer=False)])
        background = self.run_in_background(planner)
        wait_for(lambda: link_on.batches)
        background.stop()
        self.assertEqual((planner_off.batches, len(link_on.batches), link_off.batches), ([], 1, []))

    def test_one_transfer_per_interval_for_a_simulated_day(self) -> None:
        """Every five minutes for a day is 288 transfers, each at its due time (simulated clock)."""
        if importlib.util.find_spec("time_machine") is None:
            self.skipTest('the simulated clock needs time-machine: pip install "time-machine>=3"')
        from databay.testing.clock import SimulatedClock, SteppablePlanner

        inlet = _Count()
        with SimulatedClock() as clock:  # before the planner: schedulers note the time links are added
            start = clock.now()
            planner = self.make_planner(Link(inlet, _Collect(), datetime.timedelta(minutes=5)), immediate_transfer=False)
            if not isinstance(planner, SteppablePlanner):
                self.skipTest(f"{planner!r} does not implement the simulated clock's _next_due()/_run_due()")
            with clock.running(planner):
                clock.advance(datetime.timedelta(days=1))
        self.assertEqual(inlet.times, [start + datetime.timedelta(minutes=5) * n for n in range(1, 289)])

    def test_links_added_and_removed_while_running(self) -> None:
        planner = self.make_planner(Link(_Count(), _Collect(), 60))
        background = self.run_in_background(planner)
        outlet = _Collect()
        link = Link(_Count(), outlet, INTERVAL)
        planner.add_links(link)
        wait_for(lambda: len(outlet.batches) >= 2)
        planner.remove_links(link)
        self.assertTrue(link.job is None and link not in planner.links)
        seen = len(outlet.batches)
        time.sleep(INTERVAL * 6)  # a removed link must stay quiet
        self.assertLessEqual(len(outlet.batches), seen + 1)  # one may have been under way
        background.stop()
        self.assertEqual(outlet.started, 1)

    def test_force_transfer_while_paused_and_purge(self) -> None:
        outlet = _Collect()
        planner = self.make_planner(Link(_Count(), outlet, 60), immediate_transfer=False)
        planner.force_transfer()  # not running: in the caller's thread
        background = self.run_in_background(planner)
        wait_for(lambda: planner.state is State.RUNNING)
        planner.pause()
        planner.force_transfer()
        self.assertEqual(outlet.payloads, [0, 1])
        background.stop()
        planner.purge()
        self.assertEqual(planner.links, [])

    # -- exceptions --------------------------------------------------------------------------

    def test_unignored_exception_stops_planner(self) -> None:
        outlet = _Collect()
        with self.assertLogs("databay", "ERROR") as logs:
            background = Background(self.make_planner(Link(_Failing(), outlet, INTERVAL)))
            background.thread.join(10)
        self.assertFalse(background.thread.is_alive(), "start() kept running after an unignored exception")
        self.assertIn("inlet broke", "\n".join(logs.output))
        self.assertEqual(outlet.stopped, 1)

    def test_failing_immediate_transfer_never_starts_scheduling(self) -> None:
        pulls: list[Update] = []

        class Failing(_Failing):
            def pull(self, update: Update) -> Any:
                pulls.append(update)
                return super().pull(update)

        outlet = _Collect()
        with self.assertLogs("databay", "ERROR"):
            self.make_planner(Link(Failing(), outlet, INTERVAL)).start()
        time.sleep(INTERVAL * 4)  # a scheduler started by mistake would have pulled again
        self.assertEqual((len(pulls), outlet.stopped), (1, 1))

    def test_ignored_exceptions_keep_going(self) -> None:
        good = _Collect()
        links = [Link(_Failing(), _Collect(), INTERVAL), Link(_Count(), good, INTERVAL)]
        planner = self.make_planner(links, ignore_exceptions=True)
        with self.assertLogs("databay", "ERROR") as logs:
            background = self.run_in_background(planner)
            wait_for(lambda: len(good.batches) >= 3)
        self.assertTrue(planner.running)
        background.stop()
        self.assertIsNone(planner.exception)
        self.assertIn("inlet broke", "\n".join(logs.output))

    # -- overlap -----------------------------------------------------------------------------

    def _held_until_a_skip(self, overlap: str, **options: Any) -> _Held:
        """Hold a link's transfers until its planner skips a due run (and logs it), stop the
        planner while they are still held, then let them go. Counts, not clocks: what ran is what
        the policy admitted before the skip, plus nothing new once stopping."""
        inlet = _Held()
        planner = self.make_planner(Link(inlet, _Collect(), INTERVAL), overlap=overlap, immediate_transfer=False, **options)
        with self.assertLogs("databay", "WARNING") as logs:
            background = self.run_in_background(planner)
            wait_for(lambda: any(f"(overlap={overlap})" in line for line in logs.output))
            stopping = threading.Thread(target=planner.shutdown)  # waits for the held transfers
            stopping.start()
            wait_for(lambda: planner.state is not State.RUNNING)  # no due run is dispatched from here on
            inlet.release.set()
            stopping.join(10)
            background.stop()
        return inlet

    def test_overlap_skip_runs_one_at_a_time_and_skips(self) -> None:
        inlet = self._held_until_a_skip("skip")
        self.assertEqual((inlet.max_running, inlet.pulls), (1, 1))  # the run due mid-transfer was skipped, not run later

    def test_overlap_wait_queues_the_due_run(self) -> None:
        inlet = self._held_until_a_skip("wait")
        self.assertEqual((inlet.max_running, inlet.pulls), (1, 2))  # one due run waited its turn and ran; later ones skipped

    def test_overlap_concurrent_up_to_max_instances(self) -> None:
        inlet = self._held_until_a_skip("concurrent", max_instances=3)
        self.assertEqual((inlet.max_running, inlet.pulls), (3, 3))  # the fourth due run was skipped
