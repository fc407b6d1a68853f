"""Core on its own: a pipeline needs no planner to run once, and `databay init` writes one that runs here."""

from __future__ import annotations

import subprocess
import sys

from databay.plugins import nodes

DATABAY = [sys.executable, "-c", "from databay.cli import cli; cli()"]

PLANNERLESS = """\
[[links]]
tags = ["alone"]
interval = "1s"

[[links.inlets]]
type = "RandomIntInlet"
min = 7
max = 7

[[links.outlets]]
type = "FileOutlet"
default_filepath = "{out}"
"""


def _databay(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DATABAY, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_run_once_needs_no_planner(tmp_path):
    out = tmp_path / "out.txt"
    path = tmp_path / "p.toml"
    path.write_text(PLANNERLESS.format(out=out))
    result = _databay("run", "--once", str(path))
    assert result.returncode == 0, result.stderr
    assert out.read_text().strip() == "7"


def test_check_says_a_plannerless_pipeline_runs_with_once(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(PLANNERLESS.format(out=tmp_path / "out.txt"))
    result = _databay("run", "--check", str(path))
    assert result.returncode == 0, result.stderr
    assert "no planner" in result.stdout and "--once" in result.stdout


def test_scheduled_run_without_planner_is_a_bad_pipeline_naming_the_fix(tmp_path):
    out = tmp_path / "out.txt"
    path = tmp_path / "p.toml"
    path.write_text(PLANNERLESS.format(out=out))
    result = _databay("run", str(path))
    assert result.returncode == 2
    assert "[planner]" in result.stderr and "--once" in result.stderr
    assert not out.exists()


def test_init_writes_a_starter_that_runs_here(tmp_path):
    result = _databay("init", "starter.toml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "starter.toml").read_text()
    if nodes("planner"):
        assert "\n[planner]\n" in text and "databay run starter.toml" in result.stdout
    else:
        assert "\n[planner]\n" not in text and "databay run --once starter.toml" in result.stdout
        assert "pip install databay-" in text  # what to install for scheduling
    assert "databay[" not in text + result.stdout  # such a hint would install databay 0.3.0
    assert _databay("run", "--check", "starter.toml", cwd=tmp_path).returncode == 0
    once = _databay("run", "--once", "starter.toml", cwd=tmp_path)
    assert once.returncode == 0, once.stderr
    update, payload = once.stdout.split()  # PrintOutlet, only_payload: "random_ints.0 42"
    assert update == "random_ints.0" and int(payload) in range(101)
