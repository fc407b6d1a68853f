"""No credential reaches the log of a real `databay run`: neither the ERROR line of a failing
node (its error and the reprs it names), nor the traceback `-vv` adds at DEBUG."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

DATABAY = [sys.executable, "-c", "from databay.cli import cli; cli()"]
SECRET = "s3cr3t-pw"
MASKED = "https://***@source.example/feed"

# A plugin distribution on PYTHONPATH, found through the `databay` entry-point group as any is.
LEAKY_PLUGIN = f'''\
from databay import Inlet
from databay.hookspecs import hookimpl


class UnreachableFeedInlet(Inlet):
    """Fails as an HTTP client does: naming the URL it could not reach, credentials and all."""

    def pull(self, update):
        raise ConnectionError("cannot reach https://reader:{SECRET}@source.example/feed")


@hookimpl
def register_inlets(register):
    register(UnreachableFeedInlet)
'''

PIPELINE = """\
{planner}
[[links]]
tags = ["feed"]
interval = "1s"

[[links.inlets]]
type = "{inlet}"
{inlet_options}

[[links.outlets]]
type = "NullOutlet"
"""


def _databay(tmp_path, *args: str, inlet: str, inlet_options: str = "", planner: str = "") -> str:
    """Run `databay run ARGS pipeline.toml` with the leaky plugin installed; its stdout and stderr."""
    (tmp_path / "leaky_nodes.py").write_text(LEAKY_PLUGIN)
    info = tmp_path / "leaky_nodes-1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: leaky-nodes\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[databay]\nleaky = leaky_nodes\n")
    path = tmp_path / "pipeline.toml"
    path.write_text(PIPELINE.format(planner=planner, inlet=inlet, inlet_options=inlet_options))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    env.pop("DATABAY_LOAD_PLUGINS", None)
    result = subprocess.run([*DATABAY, "run", *args, str(path)], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 1, result.stderr  # the run failed, and said so
    return result.stdout + result.stderr


@pytest.mark.parametrize("verbosity", [[], ["-vv"]], ids=["default", "debug"])
def test_a_transfer_failing_with_a_credentialed_url_is_logged_masked(tmp_path, verbosity):
    output = _databay(tmp_path, "--once", *verbosity, inlet="leaky:UnreachableFeedInlet")
    assert "Transfer of Link(tags:['feed']" in output and MASKED in output
    assert SECRET not in output
    if verbosity:
        assert "Traceback (most recent call last)" in output and "ConnectionError: cannot reach " + MASKED in output


@pytest.mark.parametrize("verbosity", [[], ["-vv"]], ids=["default", "debug"])
def test_an_on_start_failure_naming_a_credentialed_url_is_logged_masked(tmp_path, verbosity):
    """FileInlet opens its file in on_start: the error, and the inlet's and link's reprs, hold the path."""
    output = _databay(
        tmp_path, "--once", *verbosity,
        inlet="FileInlet", inlet_options=f'filepath = "https://reader:{SECRET}@source.example/feed"',
    )
    assert "on_start inlet exception" in output and f"FileInlet(filepath:{MASKED}" in output
    assert SECRET not in output
    if verbosity:
        assert "FileNotFoundError" in output


def test_a_planner_stopping_on_a_credentialed_url_logs_it_masked(tmp_path):
    pytest.importorskip("databay_aps")
    output = _databay(tmp_path, "-vv", inlet="leaky:UnreachableFeedInlet", planner='[planner]\ntype = "ApsPlanner"\n')
    assert "ConnectionError: cannot reach " + MASKED in output and "Traceback (most recent call last)" in output
    assert SECRET not in output
