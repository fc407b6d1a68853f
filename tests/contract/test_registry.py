"""The registry through the real CLI, with installed test plugins (tests/plugins/databay-*):
two that register the same node name, a re-entrant one, a command hijacker, one without @hookimpl."""

import json
import os
import subprocess
import sys

import pytest

from databay.errors import AmbiguousNodeError
from databay.plugins import node, node_class

PIPELINE = """\
[planner]
type = "{planner}"

[[links]]
interval = 1

[[links.inlets]]
type = "{inlet}"

[[links.outlets]]
type = "PrintOutlet"
only_payload = true
"""


def databay(*args, **env):
    return subprocess.run(
        [sys.executable, "-c", "from databay.cli import cli; cli()", *args],
        capture_output=True, text=True, timeout=60, env={**os.environ, **env},
    )


def listed(**env):
    return {plugin["name"]: plugin for plugin in json.loads(databay("plugins", "--json", "--all", **env).stdout)}


def run_pipeline(tmp_path, inlet, *options, planner="SchedulePlanner", **env):
    path = tmp_path / "pipeline.toml"
    path.write_text(PIPELINE.format(inlet=inlet, planner=planner))
    return databay("run", *options, str(path), **env)


def assert_disabled_not_missing(result, message):
    assert result.returncode == 2 and message in result.stderr
    assert "not installed" not in result.stderr and "pip install" not in result.stderr


def test_a_name_two_plugins_register_is_an_error_at_lookup_listing_both(tmp_path):
    expected = (
        "'ClashInlet' is registered by more than one plugin: clasha:ClashInlet (inlet, databay-clasha), "
        "clashb:ClashInlet (inlet, databay-clashb). Name the one you mean as entrypoint:Name, "
        'e.g. type = "clasha:ClashInlet" in a pipeline file'
    )
    with pytest.raises(AmbiguousNodeError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        node("ClashInlet")
    with pytest.raises(AmbiguousNodeError):
        from databay.inlets import ClashInlet  # noqa: F401
    result = run_pipeline(tmp_path, "ClashInlet", "--check")
    assert result.returncode == 2 and f"links[0].inlets[0]: {expected}" in result.stderr
    for plugin in listed()["clasha"], listed()["clashb"]:
        assert plugin["inlets"] == ["ClashInlet"] and any("ClashInlet is also registered by" in p for p in plugin["problems"])


def test_either_clashing_node_is_named_with_its_entry_point(tmp_path):
    import databay_clasha
    import databay_clashb

    assert node("clasha:ClashInlet") is databay_clasha.ClashInlet
    assert node_class("inlet", "clashb:ClashInlet") is databay_clashb.ClashInlet
    for name in ("clasha", "clashb"):
        result = run_pipeline(tmp_path, f"{name}:ClashInlet", "--once")
        assert result.returncode == 0 and name in result.stdout, result.stderr


def test_reentrant_plugin_loads_and_core_is_listed_once():
    """databay_reentrant does `from databay.planners import SchedulePlanner` and looks up nodes at import time."""
    import databay_clasha
    import databay_reentrant

    import databay_schedule

    plugins = listed()
    assert plugins["reentrant"]["error"] is None and plugins["reentrant"]["planners"] == ["ReentrantPlanner"]
    assert plugins["databay"]["inlets"] == ["NullInlet", "RandomIntInlet", "FileInlet"]
    assert list(plugins).count("databay") == 1
    assert issubclass(node("ReentrantPlanner"), databay_schedule.SchedulePlanner)
    assert databay_reentrant.CLASH_A is databay_clasha.ClashInlet
    assert databay_reentrant.PRINT_OUTLET is node("PrintOutlet")


def test_reentrant_plugin_imported_by_the_user_before_any_lookup_is_registered_whole():
    """Its import-time lookups load the plugins while it is half-built: it must not be registered empty."""
    imported_first = [sys.executable, "-c", "import databay_reentrant; from databay.cli import cli; cli()"]
    result = subprocess.run([*imported_first, "plugins", "--json"], capture_output=True, text=True, timeout=60)
    reentrant = next(plugin for plugin in json.loads(result.stdout) if plugin["name"] == "reentrant")
    assert reentrant["error"] is None and reentrant["planners"] == ["ReentrantPlanner"], reentrant
    assert reentrant["hooks"] == ["register_planners"]
    lookup = "import databay_reentrant, databay.plugins as p; print(p.node('ReentrantPlanner') is databay_reentrant.ReentrantPlanner)"
    result = subprocess.run([sys.executable, "-c", lookup], capture_output=True, text=True, timeout=60)
    assert result.stdout == "True\n", result.stderr


def test_reentrant_lookup_of_a_disabled_node_fails_that_plugin_saying_why():
    plugins = listed(DATABAY_LOAD_PLUGINS="reentrant,clasha")
    assert plugins["reentrant"]["error"] == (
        "NodeDisabledError: SchedulePlanner is provided by plugin 'schedule' (databay-schedule), which is disabled "
        "by DATABAY_LOAD_PLUGINS: add it to that variable."
    )
    assert plugins["clasha"]["error"] is None


def test_core_commands_cannot_be_replaced(tmp_path):
    result = run_pipeline(tmp_path, "RandomIntInlet", "--check")
    assert result.returncode == 0 and "OK" in result.stdout and "hijacked" not in result.stdout
    assert (
        "databay plugin 'hijack' (databay-hijack): command 'run' is core's, so this plugin's is ignored: "
        "give it another name"
    ) in result.stderr
    hijack = listed()["hijack"]
    assert hijack["commands"] == ["hijack-hello"] and hijack["hooks"] == ["register_commands"]
    assert hijack["problems"] == ["command 'run' is core's, so this plugin's is ignored: give it another name"]
    assert databay("hijack-hello").stdout == "hello from hijack\n"


def test_hook_function_without_hookimpl_is_warned(tmp_path):
    warning = (
        "databay plugin 'unmarked' (databay-unmarked): register_inlets() is not a hook implementation, "
        "so databay never calls it: decorate it with @databay.hookimpl"
    )
    assert warning in databay("plugins").stderr
    unmarked = listed()["unmarked"]
    assert unmarked["error"] is None and unmarked["inlets"] == [] and unmarked["hooks"] == []
    assert len(unmarked["problems"]) == 1
    result = run_pipeline(tmp_path, "UnmarkedInlet", "--check")
    assert result.returncode == 2 and "No inlet named 'UnmarkedInlet' is installed" in result.stderr


def test_disable_plugins_deny_list(tmp_path):
    env = {"DATABAY_DISABLE_PLUGINS": "clashb, broken"}
    plugins = listed(**env)
    assert plugins["clashb"]["disabled_by"] == plugins["broken"]["disabled_by"] == "DATABAY_DISABLE_PLUGINS"
    assert plugins["clashb"]["inlets"] == [] and plugins["broken"]["error"] is None
    table = databay("plugins", **env)
    assert table.returncode == 0  # the broken plugin is disabled, so nothing failed
    assert ["clashb", "databay-clashb", "0.1.0", "disabled", "by", "DATABAY_DISABLE_PLUGINS"] in [
        line.split() for line in table.stdout.splitlines()
    ]
    assert run_pipeline(tmp_path, "ClashInlet", "--check", **env).returncode == 0  # only clasha's is left
    assert_disabled_not_missing(
        run_pipeline(tmp_path, "clashb:ClashInlet", "--check", **env),
        "clashb:ClashInlet is provided by plugin 'clashb' (databay-clashb), which is disabled by "
        "DATABAY_DISABLE_PLUGINS: remove it from that variable.",
    )


def test_load_plugins_allow_list_says_disabled_not_missing(tmp_path):
    assert_disabled_not_missing(
        run_pipeline(tmp_path, "CountingInlet", "--check", DATABAY_LOAD_PLUGINS="example"),
        "planner: SchedulePlanner is provided by plugin 'schedule' (databay-schedule), which is disabled by "
        "DATABAY_LOAD_PLUGINS: add it to that variable.",
    )
    assert listed(DATABAY_LOAD_PLUGINS="example")["schedule"]["disabled_by"] == "DATABAY_LOAD_PLUGINS"
