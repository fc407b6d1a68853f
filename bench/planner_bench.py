"""Planner benchmarks; run under this project or databay 0.3.0, whichever ``databay`` is importable.

    python planner_bench.py scale aps LINKS SECONDS   # async links awaiting 100 ms, 1 s interval, planner defaults
    python planner_bench.py timing aps|schedule       # 50 transfers at 0.1 s: how late is the last

Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from datetime import timedelta

from databay import Inlet, Link, Outlet


def make_planner(kind: str, links):
    if kind == "aps":
        from databay.planners import ApsPlanner

        return ApsPlanner(links)
    from databay.planners import SchedulePlanner

    return SchedulePlanner(links, refresh_interval=0.01)


class CountOutlet(Outlet):
    def __init__(self):
        super().__init__()
        self.count = 0

    def push(self, records, update):
        self.count += 1


class AwaitingInlet(Inlet):
    async def pull(self, update):
        await asyncio.sleep(0.1)
        return 1


def scale(kind: str, links: int, seconds: int) -> dict:
    """Transfers completed of those due at 1, 2, ..., ``seconds`` s (no immediate transfer)."""
    outlet = CountOutlet()
    planner = make_planner(kind, [Link(AwaitingInlet(), outlet, timedelta(seconds=1)) for _ in range(links)])
    planner.immediate_transfer = False
    cpu = time.process_time()
    thread = threading.Thread(target=planner.start, daemon=True)
    thread.start()
    time.sleep(seconds + 0.5)  # the window: the last due run (at `seconds`) has 0.5 s to complete
    done = outlet.count
    cpu = time.process_time() - cpu
    due = links * seconds
    planner.shutdown(wait=False)
    thread.join(30)
    return {"links": links, "due": due, "done": done, "done_percent": 100 * min(done, due) / due, "cpu_seconds": cpu}


class StampingInlet(Inlet):
    def __init__(self):
        super().__init__()
        self.stamps: list[float] = []
        self.finished = threading.Event()

    def pull(self, update):
        self.stamps.append(time.perf_counter())
        if len(self.stamps) == 50:
            self.finished.set()
        return []


def timing(kind: str) -> dict:
    inlet = StampingInlet()
    planner = make_planner(kind, Link(inlet, CountOutlet(), timedelta(seconds=0.1)))
    thread = threading.Thread(target=planner.start, daemon=True)
    thread.start()
    inlet.finished.wait(30)
    planner.shutdown(wait=False)
    thread.join(30)
    first, last = inlet.stamps[0], inlet.stamps[49]
    late = [(stamp - (first + index * 0.1)) * 1000 for index, stamp in enumerate(inlet.stamps[:50])]
    return {"last_late_ms": (last - (first + 4.9)) * 1000, "max_late_ms": max(late)}


def main() -> None:
    mode, kind = sys.argv[1], sys.argv[2]
    if mode == "scale":
        result = scale(kind, int(sys.argv[3]), int(sys.argv[4]))
    else:
        result = timing(kind)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
