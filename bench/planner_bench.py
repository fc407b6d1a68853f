"""Planner benchmarks; run under this project or databay 0.3.0, whichever ``databay`` is importable.

    python planner_bench.py scale aps|schedule LINKS SECONDS   # async links awaiting 100 ms, 1 s interval
    python planner_bench.py timing aps|schedule       # 50 transfers at 0.1 s: how late is the last

Prints one JSON object.

    python planner_bench.py compare PYTHON_WITH_DATABAY_0_3_0

runs ``scale`` for both planners at 1,000 and 10,000 links, for this project and databay 0.3.0,
each in its own process, and prints them side by side (``nox -s bench`` runs it via compare.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from databay import Inlet, Link, Outlet

GRACE = 0.5  # seconds: scheduling stops this long after the last due time; running transfers get as long again


def make_planner(kind: str, links, immediate_transfer: bool = True):
    if kind == "aps":
        from databay.planners import ApsPlanner

        return ApsPlanner(links, immediate_transfer=immediate_transfer)
    from databay.planners import SchedulePlanner

    return SchedulePlanner(links, refresh_interval=0.01, immediate_transfer=immediate_transfer)


class CountOutlet(Outlet):
    def __init__(self):
        super().__init__()
        self.count = 0

    def push(self, records, update):
        self.count += 1


class DueCountOutlet(Outlet):
    """Counts the pushes of each link's first ``runs`` transfers (the due ones), and when the last came."""

    def __init__(self, runs: int):
        super().__init__()
        self.runs = runs
        self.count = 0
        self.last = 0.0

    def push(self, records, update):
        if update.transfer_number < self.runs:
            self.count += 1
            self.last = time.perf_counter()


class AwaitingInlet(Inlet):
    async def pull(self, update):
        await asyncio.sleep(0.1)
        return 1


def peak_rss_mb() -> float:
    """The process's peak resident set (VmHWM), in MB: per address space, so unlike ru_maxrss it
    does not inherit the peak of the process that started this one."""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scale(kind: str, links: int, seconds: int) -> dict:
    """Of the transfers due at 1, 2, ..., ``seconds`` s after start() (no immediate transfer), how
    many completed; the process CPU and the peak RSS it took.

    Scheduling stops ``GRACE`` s after the last due time (shutdown, waiting for running transfers)
    and running transfers get ``GRACE`` s more: a due transfer counts when it completed within
    about one interval of falling due, i.e. the planner kept up. The CPU clock runs from right
    before start() until then; building the links and the planner is not in it.
    """
    outlet = DueCountOutlet(seconds)
    planner = make_planner(kind, [Link(AwaitingInlet(), outlet, timedelta(seconds=1)) for _ in range(links)], False)
    thread = threading.Thread(target=planner.start, daemon=True)
    cpu, started = time.process_time(), time.perf_counter()
    thread.start()
    time.sleep(max(0.0, started + seconds + GRACE - time.perf_counter()))
    stopping = threading.Thread(target=planner.shutdown, daemon=True)  # wait=True: lets running transfers finish
    stopping.start()
    stopping.join(GRACE)
    cpu, done, last = time.process_time() - cpu, outlet.count, outlet.last
    due = links * seconds
    return {
        "links": links,
        "due": due,
        "done": done,
        "done_percent": 100 * min(done, due) / due,
        "cpu_seconds": cpu,
        "peak_rss_mb": peak_rss_mb(),
        "last_done_s": last - started if last else 0.0,
        "stopped": not stopping.is_alive(),
    }


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


SCALE_TIMEOUT = 60.0  # seconds for one scale run; a contender taking longer is reported as skipped
SCALE_METRICS = ("done_percent", "cpu_seconds", "peak_rss_mb", "last_done_s")
SCALE_TARGET = {"done_percent": (">=", 99.0), "cpu_seconds": ("<=", 5.0), "peak_rss_mb": ("<", 500.0)}


def run_scale(python: str, kind: str, links: int, seconds: int, env: dict[str, str] | None = None) -> dict | str:
    """One scale run in its own process: its figures, or why there are none."""
    command = [python, str(Path(__file__).resolve()), "scale", kind, str(links), str(seconds)]
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=SCALE_TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        return f"skipped: took over {SCALE_TIMEOUT:.0f} s"
    if run.returncode or not run.stdout.strip():
        lines = run.stderr.strip().splitlines() or [f"exit status {run.returncode}"]
        return f"failed: {lines[-1]}"
    return json.loads(run.stdout.strip().splitlines()[-1])


def compare_scale(ours: str, old: str, sizes: tuple[int, ...] = (1000, 10000), seconds: int = 10) -> None:
    """Print, per planner, this project's and databay 0.3.0's scale figures side by side, per size."""
    isolated = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}  # 0.3.0 only sees its own
    contenders = {"this project": (ours, None), "databay 0.3.0": (old, isolated)}
    settings = {"aps": ("ApsPlanner", "defaults"), "schedule": ("SchedulePlanner", "defaults but refresh_interval=0.01")}
    for kind, (planner, setting) in settings.items():
        results = {
            (links, name): run_scale(python, kind, links, seconds, env)
            for links in sizes
            for name, (python, env) in contenders.items()
        }
        print(f"\n## {planner} ({setting}): N links whose pull awaits 100 ms, every 1 s, for {seconds} s")
        columns = [(links, name) for links in sizes for name in contenders]
        print(f"{'metric':14}" + "".join(f" {f'{links:,}: {name}':>22}" for links, name in columns))
        for metric in SCALE_METRICS:
            cells = []
            for column in columns:
                result = results[column]
                cells.append(f"{result[metric]:22,.2f}" if isinstance(result, dict) else f"{result.split(':')[0]:>22}")
            print(f"{metric:14}" + " ".join([""] + cells))
        for (links, name), result in results.items():
            if isinstance(result, str):
                print(f"({links:,} links, {name}: {result})")
            elif not result["stopped"]:
                print(f"({links:,} links, {name}: still busy {GRACE} s after scheduling stopped; measured then)")
        largest = results[(max(sizes), "this project")]
        if isinstance(largest, dict):
            verdicts = []
            for metric, (sign, bound) in SCALE_TARGET.items():
                met = {">=": largest[metric] >= bound, "<=": largest[metric] <= bound, "<": largest[metric] < bound}[sign]
                verdicts.append(f"{metric} {sign} {bound:g}: {'met' if met else 'NOT met'} ({largest[metric]:,.2f})")
            print(f"(target at {max(sizes):,} links, this project: {'; '.join(verdicts)})")
    print(
        f"(done_percent: of the transfers due at 1..{seconds} s, those completed with scheduling stopped {GRACE} s "
        f"after the last due time and running transfers given {GRACE} s more; cpu_seconds: process CPU from "
        "start() on; peak_rss_mb: the process's peak, MiB; last_done_s: when the last counted transfer completed)"
    )


def main() -> None:
    mode, kind = sys.argv[1], sys.argv[2]
    if mode == "compare":  # kind: the python of databay 0.3.0's environment
        compare_scale(sys.executable, kind)
        return
    if mode == "scale":
        result = scale(kind, int(sys.argv[3]), int(sys.argv[4]))
    else:
        result = timing(kind)
    print(json.dumps(result), flush=True)
    if not result.get("stopped", True):
        os._exit(0)  # databay 0.3.0's thread pools would hold the exit until their backlog drained


if __name__ == "__main__":
    main()
