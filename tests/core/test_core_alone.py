"""Core on its own: a pipeline needs no planner to run once, and `databay init` writes one that runs here."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib

import pytest

from databay.plugins import nodes, plugins

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


def _databay(*args: str, cwd=None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DATABAY, *args], capture_output=True, text=True, timeout=60, cwd=cwd, env={**os.environ, **env})


def _planner_plugins() -> list[str]:
    """The entry-point names of the installed plugins providing a planner (none with core alone)."""
    return [plugin.name for plugin in plugins() if "planner" in plugin.nodes]


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
    """The fix is a [planner] table one can paste as it is, then what to do first: with every
    planner plugin disabled, enable one (not "pip install" what is installed); with none, install one."""
    out = tmp_path / "out.txt"
    path = tmp_path / "p.toml"
    path.write_text(PLANNERLESS.format(out=out))
    disabled = _planner_plugins()
    result = _databay("run", str(path), DATABAY_DISABLE_PLUGINS=",".join(disabled))
    assert result.returncode == 2
    assert "--once" in result.stderr and not out.exists()
    hint = result.stderr.partition("To run it on its interval, add:\n")[2]
    table = tomllib.loads(hint)["planner"]
    assert hint.startswith(f'[planner]\ntype = "{table["type"]}"\n# ')
    if disabled:
        assert "is disabled by DATABAY_DISABLE_PLUGINS: remove it from that variable" in hint
        assert "pip install" not in hint and "not installed" not in hint
    else:
        assert "Install it with: pip install databay-" in hint


def test_init_writes_a_starter_that_runs_here(tmp_path):
    result = _databay("init", "starter.toml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "starter.toml").read_text()
    if nodes("planner"):
        assert "\n[planner]\n" in text and "databay run starter.toml" in result.stdout
    else:
        assert "\n[planner]\n" not in text and "databay run --once starter.toml" in result.stdout
        assert "No planner can be used here" in text and "pip install databay-" in text  # what to install for scheduling
    assert "databay[" not in text + result.stdout  # such a hint would install databay 0.3.0
    assert _databay("run", "--check", "starter.toml", cwd=tmp_path).returncode == 0
    once = _databay("run", "--once", "starter.toml", cwd=tmp_path)
    assert once.returncode == 0, once.stderr
    update, payload = once.stdout.split()  # PrintOutlet, only_payload: "random_ints.0 42"
    assert update == "random_ints.0" and int(payload) in range(101)


def test_init_with_every_planner_disabled_says_how_to_enable_one(tmp_path):
    disabled = _planner_plugins()
    if not disabled:
        pytest.skip("no planner plugin is installed here")
    result = _databay("init", "starter.toml", cwd=tmp_path, DATABAY_DISABLE_PLUGINS=",".join(disabled))
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "starter.toml").read_text()
    assert "databay run --once starter.toml" in result.stdout and "\n[planner]\n" not in text
    assert "No planner can be used here" in text and "disabled by DATABAY_DISABLE_PLUGINS: remove it from that variable" in text
    assert "pip install" not in text.partition("# Pull JSON over HTTP")[0]
    table = text.partition("# Then uncomment:\n")[2].splitlines()[:2]
    assert tomllib.loads("\n".join(line.removeprefix("# ") for line in table))["planner"]["type"]
