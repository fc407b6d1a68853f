import importlib
import inspect
import json
import subprocess
import sys

import pytest

import databay
from databay import plugins
from databay.errors import NodeNotInstalledError
from databay.inlets import RandomIntInlet


def databay_cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-c", "from databay.cli import cli; cli()", *args],
        capture_output=True, text=True, env=env, timeout=60,
    )


def test_version():
    result = databay_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"databay, version {databay.__version__}"


def test_plugins_all_lists_core_builtins_as_table():
    result = databay_cli("plugins", "--all")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["DISTRIBUTION", "VERSION", "KIND", "NODES"]
    assert any(line.split()[:3] == ["databay", databay.__version__, "inlet"] and "RandomIntInlet" in line for line in lines)
    assert any("CsvOutlet" in line for line in lines)


def test_plugins_json():
    listed = json.loads(databay_cli("plugins", "--json", "--all").stdout)
    core = next(plugin for plugin in listed if plugin["name"] == "databay")
    assert core["builtin"] and "NullInlet" in core["inlets"] and "PrintOutlet" in core["outlets"]
    assert "register_inlets" in core["hooks"]


def test_builtins_resolve_through_the_registry():
    assert plugins.node_class("inlet", "RandomIntInlet") is RandomIntInlet
    assert plugins.nodes("outlet")["FileOutlet"].plugin.distribution == "databay"


# databay 0.3's module paths of the nodes that moved to plugin distributions.
LEGACY_MODULES = {
    "HttpInlet": "databay.inlets.http_inlet",
    "MongoOutlet": "databay.outlets.mongo_outlet",
    "ApsPlanner": "databay.planners.aps_planner",
    "APSPlanner": "databay.planners.aps_planner",
    "SchedulePlanner": "databay.planners.schedule_planner",
}


@pytest.mark.parametrize("name", sorted(plugins.PROVIDERS))
def test_missing_first_party_node_names_the_extra(name):
    provider = plugins.PROVIDERS[name]
    if name in plugins.nodes(provider.kind):
        pytest.skip(f"{provider.distribution} is installed here")
    hint = rf'{provider.distribution}.*pip install "databay\[{provider.extra}\]"'
    with pytest.raises(NodeNotInstalledError, match=hint):
        plugins.node_class(provider.kind, name)
    with pytest.raises(ImportError, match=hint):
        exec(f"from databay.{provider.kind}s import {name}")
    with pytest.raises(ImportError, match=hint):
        importlib.import_module(LEGACY_MODULES[name])


@pytest.mark.parametrize("name", sorted(plugins.PROVIDERS))
def test_legacy_module_is_the_plugins_module(name):
    provider = plugins.PROVIDERS[name]
    if name not in plugins.nodes(provider.kind):
        pytest.skip(f"{provider.distribution} is not installed here")
    legacy = importlib.import_module(LEGACY_MODULES[name])
    assert legacy is importlib.import_module(provider.module)
    assert getattr(legacy, name) is plugins.node_class(provider.kind, name)


def test_install_command_joins_extras():
    assert plugins.install_command("HttpInlet", "MongoOutlet", "HttpInlet") == 'pip install "databay[http,mongo]"'


@pytest.mark.parametrize(("kind", "base_parameter"), [("inlet", "metadata"), ("outlet", "processors")])
def test_first_party_nodes_name_every_constructor_parameter(kind, base_parameter):
    """No *args/**kwargs pass-through: docs, the pipeline loader and type checkers read the signature as it is."""
    first_party = {"databay", *(provider.distribution for provider in plugins.PROVIDERS.values())}
    for entry in plugins.nodes(kind).values():
        if entry.plugin.distribution not in first_party:
            continue
        parameters = inspect.signature(entry.cls).parameters.values()
        assert {parameter.kind for parameter in parameters}.isdisjoint(
            {inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD}
        ), entry.name
        assert base_parameter in [parameter.name for parameter in parameters], entry.name


def test_unknown_node_lists_close_matches():
    with pytest.raises(plugins.UnknownNodeError, match="Did you mean: RandomIntInlet"):
        plugins.node_class("inlet", "RandomIntInlt")
    with pytest.raises(ImportError):
        from databay.inlets import NoSuchInlet  # noqa: F401
    assert not hasattr(databay.outlets, "NoSuchOutlet")


def test_import_databay_pulls_no_plugin_library():
    code = "import sys, databay, databay.inlets, databay.outlets, databay.planners; print(sorted({'aiohttp','pymongo','apscheduler','schedule'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "[]"
