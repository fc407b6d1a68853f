import importlib
import inspect
import json
import subprocess
import sys
import threading
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import databay
from databay import plugins
from databay.errors import AmbiguousNodeError, NodeDisabledError, NodeNotInstalledError
from databay.inlets import RandomIntInlet
from databay.plugins.loading import Loader
from databay.plugins.registry import NodeEntry, PluginInfo, Registry


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
    assert lines[0].split() == ["PLUGIN", "DISTRIBUTION", "VERSION", "KIND", "NAMES"]
    assert ["databay", "databay", databay.__version__, "inlet", "NullInlet,", "RandomIntInlet,", "FileInlet"] in [
        line.split() for line in lines
    ]
    assert any(line.split()[3] == "outlet" and "CsvOutlet" in line for line in lines[1:])
    hooks = next(line for line in lines if line.split()[:4] == ["databay", "databay", databay.__version__, "hooks"])
    assert "register_inlets, " in hooks and "register_outlets" in hooks


def test_plugins_json():
    listed = json.loads(databay_cli("plugins", "--json", "--all").stdout)
    core = next(plugin for plugin in listed if plugin["name"] == "databay")
    assert core["builtin"] and "NullInlet" in core["inlets"] and "PrintOutlet" in core["outlets"]
    assert core["disabled_by"] is None and core["error"] is None and core["problems"] == [] and core["commands"] == []
    assert "register_inlets" in core["hooks"]


def test_plugins_hooks_documents_every_hookspec():
    text = databay_cli("plugins", "--hooks").stdout
    for spec in plugins.hook_specs():
        assert f"{spec.name}(" in text and spec.doc.splitlines()[0] in text
    assert "register_inlets(register: Register)\n    Register Inlet subclasses" in text
    assert "transfer_finished(link: Link, update: Update, result: TransferResult)" in text
    documented = json.loads(databay_cli("plugins", "--hooks", "--json").stdout)
    assert [hook["name"] for hook in documented] == [spec.name for spec in plugins.hook_specs()]
    assert all(hook["doc"] and hook["signature"].startswith(hook["name"] + "(") for hook in documented)


def test_readme_hook_table_lists_every_hook():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for spec in plugins.hook_specs():
        assert f"| `{spec.name}(" in readme, spec.name


def test_builtins_resolve_through_the_registry():
    assert plugins.node_class("inlet", "RandomIntInlet") is RandomIntInlet
    assert plugins.nodes("outlet")["FileOutlet"].plugin.distribution == "databay"


def test_names_qualified_by_entry_point():
    assert plugins.node("RandomIntInlet") is RandomIntInlet
    assert plugins.node("databay:RandomIntInlet") is RandomIntInlet
    assert plugins.node_class("inlet", "databay:RandomIntInlet") is RandomIntInlet
    with pytest.raises(plugins.UnknownNodeError, match="'databay' registers no outlet named 'RandomIntInlet'"):
        plugins.node_class("outlet", "databay:RandomIntInlet")
    with pytest.raises(plugins.UnknownNodeError, match="No plugin named 'nosuch'"):
        plugins.node("nosuch:RandomIntInlet")


# databay 0.3's module paths of the nodes that moved to plugin distributions.
LEGACY_MODULES = {
    "HttpInlet": "databay.inlets.http_inlet",
    "MongoOutlet": "databay.outlets.mongo_outlet",
    "ApsPlanner": "databay.planners.aps_planner",
    "APSPlanner": "databay.planners.aps_planner",
    "SchedulePlanner": "databay.planners.schedule_planner",
}


@pytest.mark.parametrize("name", sorted(plugins.PROVIDERS))
def test_missing_first_party_node_names_the_distribution(name):
    provider = plugins.PROVIDERS[name]
    if name in plugins.nodes(provider.kind):
        pytest.skip(f"{provider.distribution} is installed here")
    hint = rf"{provider.distribution}.*pip install {provider.distribution}$"
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


def test_install_command_names_distributions():
    """Never an extra of databay: while 1.0 is unpublished, `pip install "databay[aps]"` installs databay 0.3.0."""
    assert plugins.install_command("HttpInlet", "MongoOutlet", "HttpInlet") == "pip install databay-http databay-mongo"


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


# Name resolution on a registry filled by hand (installed clashing plugins: tests/contract).


def _registry_with(*registrations):
    registry = Registry()
    for plugin_name, kind, cls in registrations:
        plugin = registry.plugins.setdefault(plugin_name, PluginInfo(plugin_name, f"dist-{plugin_name}", "1"))
        registry.add(NodeEntry(cls.__name__, kind, cls, plugin))
    return registry


def test_core_wins_a_plain_name_and_the_plugin_is_told():
    class PrintOutlet(databay.Outlet):
        def push(self, records, update):
            pass

    registry = _registry_with(("databay", "outlet", databay.outlets.PrintOutlet), ("shadow", "outlet", PrintOutlet))
    assert registry.resolve("PrintOutlet", ("outlet",)).cls is databay.outlets.PrintOutlet
    assert registry.resolve("shadow:PrintOutlet", ("outlet",)).cls is PrintOutlet
    assert set(registry.visible("outlet")) == {"PrintOutlet", "shadow:PrintOutlet"}
    assert registry.plugins["shadow"].problems == [
        "outlet PrintOutlet is also a core built-in, which the plain name keeps meaning: name this one 'shadow:PrintOutlet'"
    ]


def test_a_name_two_plugins_register_is_an_error_at_lookup():
    class Twin(databay.Inlet):
        pass

    class OtherTwin(databay.Inlet):
        pass

    OtherTwin.__name__ = "Twin"
    registry = _registry_with(("a", "inlet", Twin), ("b", "inlet", OtherTwin))
    with pytest.raises(AmbiguousNodeError) as raised:
        registry.resolve("Twin", ("inlet",))
    assert str(raised.value) == (
        "'Twin' is registered by more than one plugin: a:Twin (inlet, dist-a), b:Twin (inlet, dist-b). "
        'Name the one you mean as entrypoint:Name, e.g. type = "a:Twin" in a pipeline file or '
        'databay.plugins.node("a:Twin").'
    )
    assert registry.resolve("a:Twin", ("inlet",)).cls is Twin and registry.resolve("b:Twin", ("inlet",)).cls is OtherTwin
    assert set(registry.visible("inlet")) == {"a:Twin", "b:Twin"}
    assert "inlet Twin is also registered by b: the plain name is ambiguous, name this one 'a:Twin'" in registry.plugins["a"].problems


def test_disabled_and_failed_providers_say_so():
    registry = _registry_with()
    registry.plugins["http"] = PluginInfo("http", "databay-http", "1", disabled_by="DATABAY_DISABLE_PLUGINS")
    with pytest.raises(NodeDisabledError, match="HttpInlet is provided by plugin 'http' .databay-http., which is disabled "
                       "by DATABAY_DISABLE_PLUGINS: remove it from that variable"):
        registry.resolve("HttpInlet", ("inlet",))
    registry.plugins["http"] = PluginInfo("http", "databay-http", "1", disabled_by="DATABAY_LOAD_PLUGINS")
    with pytest.raises(NodeDisabledError, match="disabled by DATABAY_LOAD_PLUGINS: add it to that variable"):
        registry.resolve("http:HttpInlet", ("inlet",))
    registry.plugins["http"] = PluginInfo("http", "databay-http", "1", error="ImportError: no aiohttp")
    with pytest.raises(NodeNotInstalledError, match="installed but failed to load: ImportError: no aiohttp"):
        registry.resolve("HttpInlet", ("inlet",))
    registry.plugins["mine"] = PluginInfo("mine", "databay-mine", "1", disabled_by="DATABAY_DISABLE_PLUGINS")
    with pytest.raises(plugins.UnknownNodeError, match=r"Plugins not loaded, whose nodes are unknown: mine \(DATABAY_DISABLE_PLUGINS\)"):
        registry.resolve("MyInlet", ("inlet",))


REENTRANT_USER = '''
import databay.plugins
from databay.planners import LaterPlanner        # provided by a plugin loaded after this one starts

RANDOM = databay.plugins.node_class("inlet", "RandomIntInlet")
'''

LATER_PROVIDER = '''
import databay
from databay import BasePlanner


class LaterPlanner(BasePlanner):
    pass


@databay.hookimpl
def register_planners(register):
    register(LaterPlanner)
'''

TYPO = '''
import databay


@databay.hookimpl
def register_inlet(register):
    pass
'''


def test_loading_is_reentrant_and_guards_each_plugin(tmp_path, monkeypatch):
    """A plugin looking nodes up while imported gets them (core's, and a later plugin's), and is not failed."""
    for module, source in {"reent_user": REENTRANT_USER, "later_provider": LATER_PROVIDER, "hook_typo": TYPO}.items():
        (tmp_path / f"{module}.py").write_text(source)
    monkeypatch.syspath_prepend(tmp_path)
    found = [EntryPoint(name, module, "databay") for name, module in
             [("user", "reent_user"), ("typo", "hook_typo"), ("later", "later_provider")]]
    monkeypatch.setattr("databay.plugins.loading.entry_points", lambda group: found)
    loader = Loader()
    monkeypatch.setattr(plugins, "_loader", loader)
    loader.load()
    listed = loader.registry.plugins
    assert [listed[name].error for name in ("user", "later")] == [None, None]
    assert "register_inlet" in listed["typo"].error and "unknown hook" in listed["typo"].error
    assert listed["databay"].nodes["inlet"] == ["NullInlet", "RandomIntInlet", "FileInlet"]
    import reent_user

    assert reent_user.LaterPlanner is plugins.node_class("planner", "LaterPlanner") is plugins.node("later:LaterPlanner")
    assert reent_user.RANDOM is RandomIntInlet


def test_each_clash_is_told_once_to_each_plugin():
    inlets = [type("Triple", (databay.Inlet,), {}) for _ in range(3)]
    registry = _registry_with(*(((name, "inlet", cls) for name, cls in zip("abc", inlets, strict=True))))
    assert registry.plugins["a"].problems == [
        "inlet Triple is also registered by b: the plain name is ambiguous, name this one 'a:Triple'",
        "inlet Triple is also registered by c: the plain name is ambiguous, name this one 'a:Triple'",
    ]
    assert registry.plugins["c"].problems == [
        "inlet Triple is also registered by a, b: the plain name is ambiguous, name this one 'c:Triple'"
    ]
    with pytest.raises(AmbiguousNodeError, match="a:Triple .inlet, dist-a., b:Triple .inlet, dist-b., c:Triple"):
        registry.resolve("Triple", ("inlet",))


# Threads: a plugin module imported by one thread while another loads plugins (each test module,
# imported for real from tmp_path, waits on `gates` so the interleaving is the same every run).

GATES = '''
import threading

a_importing = threading.Event()   # thread A is inside a plugin module's import
b_loading = threading.Event()     # thread B has started loading plugins
b_importing = threading.Event()   # thread B is inside another plugin module's import
'''

SIGNALS_LOADING = '''
import gates

gates.b_loading.set()   # the loader imports this first: loading has begun
'''


def _looks_up_at_import(inlet: str, signals: str = "", waits_for: str = "") -> str:
    """A plugin module registering ``inlet`` that, while imported, sets the gate ``signals``,
    waits for the gate ``waits_for``, then looks a node up."""
    gates = f"import gates\n\ngates.{signals}.set()\ngates.{waits_for}.wait(10)\n" if signals else ""
    return f'''
import databay
import databay.plugins
{gates}
PRINT = databay.plugins.node("PrintOutlet")


class {inlet}(databay.Inlet):
    def pull(self, update):
        return []


@databay.hookimpl
def register_inlets(register):
    register({inlet})
'''


def _fresh_loader(tmp_path, monkeypatch, modules, entry_points):
    """A Loader of its own (as in a new process) over real modules written to tmp_path."""
    for module, source in modules.items():
        (tmp_path / f"{module}.py").write_text(source)
    monkeypatch.syspath_prepend(tmp_path)
    found = [EntryPoint(name, module, "databay") for name, module in entry_points]
    monkeypatch.setattr("databay.plugins.loading.entry_points", lambda group: found)
    loader = Loader()
    monkeypatch.setattr(plugins, "_loader", loader)
    for module in (*modules, "gates"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    return loader


def _run_together(*targets):
    """Run each target in a thread; the threads' errors, or a failure naming a deadlock."""
    errors = []

    def guarded(target):
        try:
            target()
        except BaseException as error:  # reported to the test below
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(target,), daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads), "deadlock: the threads still wait after 10 s"
    assert errors == []


def test_a_plugin_imported_while_another_thread_loads_does_not_deadlock(tmp_path, monkeypatch):
    """B loads plugins and imports A's plugin module, A's import looks a node up: neither waits for ever."""
    loader = _fresh_loader(
        tmp_path, monkeypatch,
        {"gates": GATES, "signals_loading": SIGNALS_LOADING,
         "looks_up": _looks_up_at_import("LookingInlet", "a_importing", "b_loading")},
        [("first", "signals_loading"), ("looks", "looks_up")],
    )

    def b():
        import gates

        gates.a_importing.wait(10)
        loader.load()

    _run_together(lambda: importlib.import_module("looks_up"), b)
    import looks_up

    assert looks_up.PRINT is plugins.node("PrintOutlet")
    assert plugins.node("LookingInlet") is looks_up.LookingInlet
    assert loader.registry.plugins["looks"].error is None and not loader.registry.plugins["looks"].loading


def test_two_plugin_modules_imported_at_once_each_looking_up_do_not_deadlock(tmp_path, monkeypatch):
    """A and B each import a plugin module that looks a node up while the other's import is under way."""
    _fresh_loader(
        tmp_path, monkeypatch,
        {"gates": GATES, "looks_up": _looks_up_at_import("LookingInlet", "a_importing", "b_importing"),
         "other": _looks_up_at_import("OtherInlet", "b_importing", "a_importing")},
        [("looks", "looks_up"), ("other", "other")],
    )
    _run_together(lambda: importlib.import_module("looks_up"), lambda: importlib.import_module("other"))
    import looks_up
    import other

    assert plugins.node("LookingInlet") is looks_up.LookingInlet and plugins.node("OtherInlet") is other.OtherInlet
    assert [plugin.error for plugin in plugins.plugins()] == [None, None, None]


def test_a_plugin_the_user_imports_first_is_registered_once_its_import_completes(tmp_path, monkeypatch):
    """Its import-time lookup loads the plugins while it is half-built: it is registered afterwards, whole."""
    loader = _fresh_loader(
        tmp_path, monkeypatch,
        {"reent_user": REENTRANT_USER, "later_provider": LATER_PROVIDER, "mine": _looks_up_at_import("LookingInlet")},
        [("mine", "mine"), ("user", "reent_user"), ("later", "later_provider")],
    )
    import mine

    assert plugins.node("LookingInlet") is mine.LookingInlet
    listed = loader.registry.plugins["mine"]
    assert listed.error is None and listed.nodes == {"inlet": ["LookingInlet"]} and listed.hooks == ["register_inlets"]
    assert [plugin.name for plugin in plugins.plugins()] == ["databay", "mine", "user", "later"]


FAILS_WITH_A_SECRET = '''
raise ConnectionError("cannot reach mongodb://admin:hunter22@db.example:27017/x?replicaSet=rs0")
'''


def test_a_load_error_is_shown_without_url_credentials(tmp_path, monkeypatch, caplog):
    loader = _fresh_loader(tmp_path, monkeypatch, {"leaks": FAILS_WITH_A_SECRET}, [("leaks", "leaks")])
    loader.load()
    error = loader.registry.plugins["leaks"].error
    assert error == "ConnectionError: cannot reach mongodb://***@db.example:27017/x?replicaSet=rs0"
    assert "hunter22" not in caplog.text and "mongodb://***@db.example" in caplog.text
