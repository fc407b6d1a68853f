"""The public plugin contract, exercised by real installed distributions (tests/plugins/*)."""

import json
import os
import subprocess
import sys

from databay import Link
from databay.plugins import nodes


def databay_cli(*args, **env):
    return subprocess.run(
        [sys.executable, "-c", "from databay.cli import cli; cli()", *args],
        capture_output=True, text=True, timeout=60, env={**os.environ, **env},
    )


def test_nodes_found_by_name_and_run_in_a_link():
    from databay.inlets import CountingInlet
    from databay.outlets import MemoryOutlet

    assert nodes("inlet")["CountingInlet"].plugin.distribution == "databay-example"
    outlet = MemoryOutlet()
    link = Link(CountingInlet(count=2), outlet, 1)
    link.transfer()
    link.transfer()
    assert outlet.payloads == [0, 1, 2, 3]


def test_plugins_json_lists_example_and_reports_broken():
    result = databay_cli("plugins", "--json")
    assert result.returncode == 1
    listed = {plugin["name"]: plugin for plugin in json.loads(result.stdout)}
    example = listed["example"]
    assert example["distribution"] == "databay-example" and example["version"] == "0.1.0"
    assert example["inlets"] == ["CountingInlet", "JsonFeedInlet"] and example["outlets"] == ["MemoryOutlet"]
    assert "register_commands" in example["hooks"]
    broken = listed["broken"]
    assert broken["distribution"] == "databay-broken"
    assert "ModuleNotFoundError" in broken["error"] and "databay_dependency_that_does_not_exist" in broken["error"]


def test_plugins_table_shows_both():
    result = databay_cli("plugins")
    assert result.returncode == 1
    assert any(line.split()[:4] == ["example", "databay-example", "0.1.0", "inlet"] for line in result.stdout.splitlines())
    assert any(line.split()[:4] == ["broken", "databay-broken", "0.0.1", "error"] for line in result.stdout.splitlines())


def test_plugin_subcommand():
    result = databay_cli("example-count", "3")
    assert result.returncode == 0 and result.stdout.strip() == "0 1 2"


def test_load_plugins_env_limits_and_blocks():
    only_example = json.loads(databay_cli("plugins", "--json", DATABAY_LOAD_PLUGINS="example").stdout)
    assert [plugin["name"] for plugin in only_example if plugin["disabled_by"] is None] == ["example"]
    blocked = databay_cli("plugins", "--json", DATABAY_LOAD_PLUGINS="")
    assert blocked.returncode == 0
    assert {plugin["disabled_by"] for plugin in json.loads(blocked.stdout)} == {"DATABAY_LOAD_PLUGINS"}


def test_pipeline_leaves_keys_a_kwargs_constructor_takes_to_it(tmp_path):
    """CountingInlet(count=3, *args, **kwargs): keys its signature does not name reach the constructor."""
    path = tmp_path / "counting.toml"
    link = '[[links]]\ninterval = 1\n[[links.inlets]]\ntype = "CountingInlet"\n{}\n[[links.outlets]]\ntype = "MemoryOutlet"\n'
    path.write_text(link.format('metadata = { source = "toml" }'))
    assert "links[0]" not in databay_cli("run", "--check", str(path)).stderr  # only the missing [planner]
    path.write_text(link.format('metdata = { source = "toml" }'))
    assert "links[0].inlets[0] (CountingInlet): CountingInlet(metdata=…) failed: TypeError" in databay_cli(
        "run", "--check", str(path)
    ).stderr
