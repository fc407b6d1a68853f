"""Small real nodes and a minimal real planner shared by core's tests."""

from __future__ import annotations

import asyncio
import functools
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from databay import BasePlanner, Inlet, Link, Outlet
from databay.engine.runtime import State
from databay.outlet import Processor


class ListInlet(Inlet):
    """Returns a fresh copy of ``data`` on each pull."""

    def __init__(self, data: Any, metadata: dict | None = None):
        super().__init__(metadata)
        self.data = data
        self.pulls = 0

    def pull(self, update):
        self.pulls += 1
        return list(self.data) if isinstance(self.data, list) else self.data


class AsyncListInlet(ListInlet):
    def __init__(self, data: Any, delay: float = 0.0, metadata: dict | None = None):
        super().__init__(data, metadata)
        self.delay = delay
        self.running = 0
        self.max_running = 0

    async def pull(self, update):
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        await asyncio.sleep(self.delay)
        self.running -= 1
        return ListInlet.pull(self, update)


class FailingInlet(Inlet):
    def pull(self, update):
        raise ValueError("inlet broke")


class CollectOutlet(Outlet):
    """Keeps every batch it is pushed, with its update."""

    def __init__(self, processors: Processor | list[Processor] | None = None):
        super().__init__(processors)
        self.batches: list = []
        self.updates: list = []
        self.started = 0
        self.stopped = 0

    def push(self, records, update):
        self.batches.append(records)
        self.updates.append(update)

    @property
    def payloads(self):
        return [record.payload for batch in self.batches for record in batch]

    def on_start(self):
        self.started += 1

    def on_shutdown(self):
        self.stopped += 1


class AsyncCollectOutlet(CollectOutlet):
    async def push(self, records, update):
        await asyncio.sleep(0)
        CollectOutlet.push(self, records, update)


class FailingOutlet(Outlet):
    def push(self, records, update):
        raise RuntimeError("outlet broke")


class ThreadPlanner(BasePlanner):
    """A minimal real planner: one thread per link, starting a transfer every interval (through
    ``BasePlanner._transfer``, the way for planners that schedule from threads of their own).

    It takes BasePlanner's arguments as they are: its own state is made on first use, since
    BasePlanner's constructor already schedules the links it is given.
    """

    _running = False

    @functools.cached_property
    def _stop(self) -> threading.Event:
        return threading.Event()

    @functools.cached_property
    def _threads(self) -> list[threading.Thread]:
        return []

    def _schedule(self, link: Link) -> None:
        link.set_job(link)
        if self._running:
            self._spawn(link)

    def _unschedule(self, link: Link) -> None:
        link.set_job(None)

    def _spawn(self, link: Link) -> None:
        def loop() -> None:  # a fixed rate; each due transfer from a thread of its own, so they can overlap
            interval, due = link.interval.total_seconds(), time.monotonic()
            while not self._stop.wait(max(0.0, (due := due + interval) - time.monotonic())):
                if link.job is None:
                    return
                threading.Thread(target=self._transfer_if_running, args=(link,), daemon=True).start()

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _transfer_if_running(self, link: Link) -> None:
        if self.state is State.RUNNING:  # not a late one after the stop: that would transfer outside the planner
            self._transfer(link)

    def _start_planner(self) -> None:
        self._running = True
        self._stop.clear()
        for link in self.links:
            self._spawn(link)

    def _shutdown_planner(self, wait: bool = True) -> None:
        self._running = False
        self._stop.set()
        if wait:
            for thread in self._threads:
                if thread is not threading.current_thread():
                    thread.join()

    @property
    def running(self) -> bool:
        return self._running


def track_concurrency(inlet: Inlet, running: dict) -> None:
    """Wrap an async inlet's pull so ``running['max']`` records the most pulls in flight at once."""
    running.setdefault("now", 0)
    running.setdefault("max", 0)
    original = inlet.pull

    async def pull(update):
        running["now"] += 1
        running["max"] = max(running["max"], running["now"])
        try:
            return await original(update)
        finally:
            running["now"] -= 1

    inlet.pull = pull


def listed_plugin(distribution: str) -> dict:
    """What `databay plugins --json` (the real CLI, in a subprocess) says about one distribution."""
    output = subprocess.run(
        [sys.executable, "-c", "from databay.cli import cli; cli()", "plugins", "--json"],
        capture_output=True, text=True, check=False,
    ).stdout
    return next(plugin for plugin in json.loads(output) if plugin["distribution"] == distribution)


class SwitchInlet(Inlet):
    """Pulls ``data`` (a fresh list each time), or fails with ``error`` while ``broken`` is set."""

    def __init__(self, data: list, error: Exception | None = None):
        super().__init__()
        self.data = data
        self.error = error or ConnectionError("source down")
        self.broken = threading.Event()

    def pull(self, update):
        if self.broken.is_set():
            raise self.error
        return list(self.data)


def http_get(url: str) -> tuple[int, str]:
    """(status, body) of a real GET; an HTTP error status is an answer, not an exception."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


def poll(condition, timeout: float = 10.0):
    """Wait until ``condition()`` is truthy and return it (short polls, not a sleep standing in for an assertion)."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)
    return result
