"""`databay run`'s exit status says what happened to the records, end to end through the real CLI."""

import subprocess
import sys

DATABAY = [sys.executable, "-c", "from databay.cli import cli; cli()"]

PIPELINE = """
[planner]
type = "ApsPlanner"

[[links]]
tags = ["t"]
interval = "1s"
{link_options}
[[links.inlets]]
type = "{inlet}"
{inlet_options}
[[links.outlets]]
type = "FileOutlet"
default_filepath = "{target}"
{delivery}
"""


def run(tmp_path, *, inlet="RandomIntInlet", inlet_options="", link_options="", target=None, delivery=""):
    target = target or tmp_path / "out.txt"
    path = tmp_path / "pipeline.toml"
    path.write_text(PIPELINE.format(
        inlet=inlet, inlet_options=inlet_options, link_options=link_options, target=target, delivery=delivery
    ))
    return subprocess.run([*DATABAY, "run", "--once", str(path)], capture_output=True, text=True, timeout=60)


def test_everything_delivered_is_0(tmp_path):
    result = run(tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.txt").read_text().strip()


def test_a_failure_without_loss_is_1(tmp_path):
    result = run(tmp_path, inlet="FileInlet", inlet_options=f'filepath = "{tmp_path / "missing.txt"}"')
    assert result.returncode == 1, result.stderr
    assert "Run ended on an exception; no record lost (exit status 1)" in result.stderr


def test_records_lost_is_3(tmp_path):
    (tmp_path / "blocker").write_text("a file where the outlet needs a folder")
    result = run(tmp_path, link_options="ignore_exceptions = true", target=tmp_path / "blocker" / "out.txt")
    assert result.returncode == 3, result.stderr
    assert "1 record(s) not delivered" in result.stderr
    assert "Run ended: 1 record(s) lost (exit status 3)" in result.stderr


def test_spilled_to_disk_is_0_and_the_next_run_delivers_it(tmp_path):
    (tmp_path / "blocker").write_text("in the way")
    delivery = f'[links.delivery]\nretries = 0\nstate_dir = "{tmp_path / "state"}"\n'
    target = tmp_path / "blocker" / "out.txt"
    first = run(tmp_path, target=target, delivery=delivery)
    assert first.returncode == 0, first.stderr
    assert "spilled to disk" in first.stderr
    (tmp_path / "blocker").unlink()  # the outlet recovers
    second = run(tmp_path, target=target, delivery=delivery)
    assert second.returncode == 0, second.stderr
    assert len(target.read_text().splitlines()) == 2  # the spilled record first, then the new one


def test_spilled_in_memory_at_exit_is_3(tmp_path):
    (tmp_path / "blocker").write_text("in the way")
    result = run(tmp_path, target=tmp_path / "blocker" / "out.txt", delivery="[links.delivery]\nretries = 0\n")
    assert result.returncode == 3, result.stderr
