"""Helpers for tests that run planners and processes: PlannerTester's, and running a command until it is ready."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from databay.misc.planner_tester import Background, SlowAsyncInlet, wait_for

__all__ = ["Background", "SlowAsyncInlet", "check_catch_exceptions_alias", "check_shutdown_at_exit", "run_until", "wait_for"]


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


def check_catch_exceptions_alias(planner_class: type) -> None:
    """databay 0.3's ``catch_exceptions`` still works, with a DeprecationWarning naming it."""
    with pytest.warns(DeprecationWarning, match="catch_exceptions"):
        planner = planner_class(None, catch_exceptions=True)
    assert planner.ignore_exceptions


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
