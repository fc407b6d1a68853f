"""Behaviour every planner must show, run against each real planner by its own test folder."""

from __future__ import annotations

import asyncio
import itertools
import logging
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from databay import Inlet, Link
from databay.errors import PlannerAlreadyRunningError, PlannerNotRunningError

from databay_testing import CollectOutlet, FailingInlet, ListInlet


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


class Background:
    """Runs ``planner.start()`` in a thread; ``stop()`` shuts it down and checks start returned."""

    def __init__(self, planner):
        self.planner = planner
        self.thread = threading.Thread(target=planner.start, daemon=True)
        self.thread.start()
        wait_for(lambda: planner.running or not self.thread.is_alive())

    def stop(self, wait: bool = True) -> None:
        if self.planner.running:
            self.planner.shutdown(wait)
        self.thread.join(10)
        assert not self.thread.is_alive(), "start() did not return after shutdown"


class SlowAsyncInlet(Inlet):
    """Awaits ``delay`` seconds per pull and remembers which threads pulled and when each finished."""

    def __init__(self, delay: float, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.delay = delay
        self.threads: set[str] = set()
        self.finished = 0

    async def pull(self, update):
        self.threads.add(threading.current_thread().name)
        await asyncio.sleep(self.delay)
        self.finished += 1
        return [update.transfer_number]


class PlannerContract:
    """Subclass as ``TestXContract`` with ``make_planner = staticmethod(XPlanner)`` (links first)."""

    make_planner: staticmethod

    def test_transfers_repeatedly_and_lifecycle(self) -> None:
        make_planner, interval = self.make_planner, 0.05
        outlet = CollectOutlet()
        planner = make_planner(Link(ListInlet([1]), outlet, interval))
        background = Background(planner)
        wait_for(lambda: len(outlet.batches) >= 3)
        background.stop()
        assert outlet.started == 1 and outlet.stopped == 1
        assert [u.transfer_number for u in outlet.updates[:3]] == [0, 1, 2]


    def test_shutdown_waits_for_running_transfer(self) -> None:
        make_planner = self.make_planner
        inlet = SlowAsyncInlet(delay=0.3)
        planner = make_planner(Link(inlet, CollectOutlet(), 60))
        background = Background(planner)
        wait_for(lambda: inlet.threads)  # the immediate transfer is under way
        background.stop(wait=True)
        assert inlet.finished == 1


    def test_immediate_transfer(self) -> None:
        make_planner = self.make_planner
        planner_off, link_on, link_off = CollectOutlet(), CollectOutlet(), CollectOutlet()
        background = Background(make_planner(Link(ListInlet([1]), planner_off, 60), immediate_transfer=False))
        background.stop()
        planner = make_planner([Link(ListInlet([1]), link_on, 60), Link(ListInlet([1]), link_off, 60, immediate_transfer=False)])
        background = Background(planner)
        wait_for(lambda: link_on.batches)
        background.stop()
        assert planner_off.batches == [] and len(link_on.batches) == 1 and link_off.batches == []


    def test_unignored_exception_stops_planner(self, caplog) -> None:
        make_planner = self.make_planner
        outlet = CollectOutlet()
        with caplog.at_level(logging.ERROR, logger="databay"):
            background = Background(make_planner(Link(FailingInlet(), outlet, 0.05)))
            background.thread.join(10)
            assert not background.thread.is_alive(), "start() kept running after an unignored exception"
        assert "inlet broke" in caplog.text
        wait_for(lambda: outlet.stopped == 1)  # on_shutdown runs on the thread that hit the error


    def test_ignored_exceptions_keep_going(self, caplog) -> None:
        make_planner = self.make_planner
        good = CollectOutlet()
        planner = make_planner([Link(FailingInlet(), CollectOutlet(), 0.05), Link(ListInlet([1]), good, 0.05)], ignore_exceptions=True)
        background = Background(planner)
        wait_for(lambda: len(good.batches) >= 3)
        assert planner.running
        background.stop()
        assert "inlet broke" in caplog.text


    def test_shutdown_right_after_start_is_never_lost(self) -> None:
        for _ in range(20):  # the race: start() in a thread, shutdown() before it is up
            outlet = CollectOutlet()
            planner = self.make_planner(Link(ListInlet([1]), outlet, 0.05))
            thread = threading.Thread(target=planner.start, daemon=True)
            thread.start()
            planner.shutdown(wait=False)
            assert not planner.running
            thread.join(10)
            assert not thread.is_alive(), "start() never returned after an early shutdown"
            assert outlet.started == outlet.stopped

    def test_pause_resume_right_after_start_and_after_shutdown(self) -> None:
        outlet = CollectOutlet()
        planner = self.make_planner(Link(ListInlet([1]), outlet, 0.05), immediate_transfer=False)
        thread = threading.Thread(target=planner.start, daemon=True)
        thread.start()
        wait_for(lambda: planner.running)
        planner.pause()  # may land while the planner is still starting
        planner.resume()
        wait_for(lambda: outlet.batches)
        planner.shutdown(wait=False)
        thread.join(10)
        for call in (planner.pause, planner.resume):
            with pytest.raises(PlannerNotRunningError):
                call()

    def test_force_transfer_while_paused(self) -> None:
        outlet = CollectOutlet()
        planner = self.make_planner(Link(ListInlet([1]), outlet, 60), immediate_transfer=False)
        background = Background(planner)
        wait_for(lambda: planner.state.value == "running")
        planner.pause()
        planner.force_transfer()
        assert outlet.payloads == [1]
        background.stop()

    def test_start_while_running_raises(self) -> None:
        planner = self.make_planner(Link(ListInlet([1]), CollectOutlet(), 60))
        background = Background(planner)
        with pytest.raises(PlannerAlreadyRunningError):
            planner.start()
        background.stop()

    def test_failing_immediate_transfer_never_starts_scheduling(self) -> None:
        inlet, outlet = FailingInlet(), CollectOutlet()
        pulls = []
        inlet.pull = lambda update: pulls.append(update) or FailingInlet.pull(inlet, update)
        thread = threading.Thread(target=self.make_planner(Link(inlet, outlet, 0.05)).start, daemon=True)
        thread.start()
        thread.join(10)
        assert not thread.is_alive()
        time.sleep(0.2)  # four intervals: a scheduler started by mistake would have pulled again
        assert len(pulls) == 1 and outlet.stopped == 1

    def test_links_added_and_removed_while_running(self) -> None:
        make_planner = self.make_planner
        planner = make_planner(Link(ListInlet([0]), CollectOutlet(), 60))
        background = Background(planner)
        outlet = CollectOutlet()
        link = Link(ListInlet([1]), outlet, 0.05)
        planner.add_links(link)
        wait_for(lambda: len(outlet.batches) >= 2)
        planner.remove_links(link)
        assert link.job is None and link not in planner.links
        seen = len(outlet.batches)
        time.sleep(0.3)  # a removed link must stay quiet: nothing to poll for
        assert len(outlet.batches) <= seen + 1
        background.stop()
        assert outlet.started == 1


    def test_force_transfer_and_purge(self) -> None:
        make_planner = self.make_planner
        outlet = CollectOutlet()
        planner = make_planner(Link(ListInlet([1]), outlet, 60), immediate_transfer=False)
        planner.force_transfer()
        assert outlet.payloads == [1]
        planner.purge()
        assert planner.links == []

    def test_catch_exceptions_is_a_deprecated_alias(self) -> None:
        with pytest.warns(DeprecationWarning, match="catch_exceptions"):
            planner = self.make_planner(None, catch_exceptions=True)
        assert planner.ignore_exceptions

    def _overlapping_run(self, overlap: str, duration: float, interval: float, transfers: int, **options):
        """Run a link whose transfers outlast its interval; return the inlet's (start, end) spans."""
        inlet = TimedInlet(duration)
        planner = self.make_planner(
            Link(inlet, CollectOutlet(), interval), overlap=overlap, immediate_transfer=False, **options
        )
        background = Background(planner)
        wait_for(lambda: len(inlet.spans) >= transfers)
        background.stop()
        return inlet

    def test_overlap_skip_runs_one_at_a_time_and_skips(self) -> None:
        inlet = self._overlapping_run("skip", duration=0.35, interval=0.3, transfers=3)
        assert inlet.max_running == 1
        gaps = inlet.gaps()
        assert all(gap > 0.1 for gap in gaps), gaps  # the run due mid-transfer was skipped

    def test_overlap_wait_queues_the_due_run(self) -> None:
        inlet = self._overlapping_run("wait", duration=0.35, interval=0.3, transfers=3)
        assert inlet.max_running == 1
        gaps = inlet.gaps()
        assert all(gap < 0.1 for gap in gaps), gaps  # the due run started as soon as its turn came

    def test_overlap_concurrent_up_to_max_instances(self) -> None:
        inlet = self._overlapping_run("concurrent", duration=0.3, interval=0.05, transfers=6, max_instances=3)
        assert 1 < inlet.max_running <= 3


class TimedInlet(Inlet):
    """A sync inlet whose pull takes ``duration``; records each pull's (start, end) and peak concurrency."""

    def __init__(self, duration: float, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.duration = duration
        self.spans: list[tuple[float, float]] = []
        self.running = 0
        self.max_running = 0
        self._lock = threading.Lock()

    def gaps(self) -> list[float]:
        """Seconds from each pull's end to the next pull's start."""
        return [start - end for (_, end), (start, _) in itertools.pairwise(self.spans)]

    def pull(self, update):
        with self._lock:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        start = time.monotonic()
        time.sleep(self.duration)  # the simulated slow source
        with self._lock:
            self.running -= 1
            self.spans.append((start, time.monotonic()))
        return [update.transfer_number]


def run_until(
    command: list[str], ready, cwd=None, timeout: float = 30.0, stop_signal: int = signal.SIGINT, env=None
) -> subprocess.CompletedProcess:
    """Start ``command``, wait until ``ready(stdout, stderr)`` holds, then send ``stop_signal`` and collect."""
    out: list[str] = []
    err: list[str] = []
    with subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        readers = [
            threading.Thread(target=lambda: out.extend(iter(process.stdout.readline, "")), daemon=True),
            threading.Thread(target=lambda: err.extend(iter(process.stderr.readline, "")), daemon=True),
        ]
        for reader in readers:
            reader.start()
        try:
            wait_for(lambda: ready("".join(out), "".join(err)) or process.poll() is not None, timeout)
        finally:
            process.send_signal(stop_signal)
            try:
                process.wait(timeout)
            finally:
                process.kill()
        for reader in readers:
            reader.join(5)
    return subprocess.CompletedProcess(command, process.returncode, "".join(out), "".join(err))


def check_shutdown_at_exit(planner_import: str) -> None:
    """Ctrl+C on a planner created with shutdown_at_exit=True still shuts every node down."""
    code = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
{planner_import}
from databay import Link
from databay_testing import CollectOutlet, ListInlet

class Announcing(CollectOutlet):
    def push(self, records, update):
        print('pushed', flush=True)

    def on_shutdown(self):
        print('on_shutdown ran', flush=True)

Planner(Link(ListInlet([1]), Announcing(), 60), shutdown_at_exit=True).start()
"""
    result = run_until([sys.executable, "-c", code], lambda out, err: "pushed" in out)
    assert "on_shutdown ran" in result.stdout, result.stderr
