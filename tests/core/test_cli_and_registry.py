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


@pytest.mark.parametrize("name", sorted(plugins.PROVIDERS))
def test_missing_first_party_node_names_the_extra(name):
    kind, distribution, extra = plugins.PROVIDERS[name]
    if name in plugins.nodes(kind):
        pytest.skip(f"{distribution} is installed here")
    with pytest.raises(NodeNotInstalledError, match=rf'{distribution}.*pip install "databay\[{extra}\]"'):
        plugins.node_class(kind, name)
    with pytest.raises(ImportError, match=rf"databay\[{extra}\]"):
        exec(f"from databay.{kind}s import {name}")


@pytest.mark.parametrize(("kind", "base_parameter"), [("inlet", "metadata"), ("outlet", "processors")])
def test_first_party_nodes_name_every_constructor_parameter(kind, base_parameter):
    """No *args/**kwargs pass-through: docs, the pipeline loader and type checkers read the signature as it is."""
    first_party = {"databay", *(distribution for _, distribution, _ in plugins.PROVIDERS.values())}
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
