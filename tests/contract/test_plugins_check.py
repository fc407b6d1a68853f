"""`databay plugins --check [NAME]` through the real CLI, with the example plugin (clean) and the
sloppy one (each of its nodes breaks the contract one way) installed."""

from __future__ import annotations

import os
import subprocess
import sys


def databay(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from databay.cli import cli; cli()", *args],
        capture_output=True, text=True, timeout=120, env={**os.environ, **env},
    )


def test_check_passes_every_node_of_clean_plugins():
    result = databay("plugins", "--check", DATABAY_LOAD_PLUGINS="example")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "inlet JsonFeedInlet" in result.stdout and "FAILED" not in result.stdout
    assert result.stdout.rstrip().endswith("with problems.") and ", 0 with problems." in result.stdout


def test_check_of_one_plugin_names_each_problem():
    result = databay("plugins", "--check", "sloppy")
    assert result.returncode == 1, result.stdout + result.stderr
    for problem in (
        "inlet LeakyInlet",
        "repr() leaks a secret from its URL",
        "declares blocking = True but pull() is async",
        "on_start → on_shutdown → on_shutdown raised AttributeError",
        "required parameter 'target' has no type annotation",
    ):
        assert problem in result.stdout
    assert "4 node(s) checked, 4 with problems." in result.stdout


def test_check_of_one_node():
    result = databay("plugins", "--check", "CountingInlet")
    assert result.returncode == 0 and "1 node(s) checked, 0 with problems." in result.stdout


def test_clashing_nodes_are_checked_and_selected_under_their_qualified_names():
    result = databay("plugins", "--check", DATABAY_LOAD_PLUGINS="clasha,clashb")
    assert result.returncode == 0, result.stdout + result.stderr
    reported = [line.split()[:2] for line in result.stdout.splitlines()]
    assert ["inlet", "clasha:ClashInlet"] in reported and ["inlet", "clashb:ClashInlet"] in reported
    assert ["inlet", "ClashInlet"] not in reported
    one = databay("plugins", "--check", "clasha:ClashInlet")
    assert one.returncode == 0 and "1 node(s) checked, 0 with problems." in one.stdout, one.stdout + one.stderr
    assert one.stdout.split()[:4] == ["inlet", "clasha:ClashInlet", "OK", "(clasha,"]
