"""Plugin loading and the node registry.

Plugins are found through the ``databay`` entry-point group and loaded lazily, on the first
lookup, each one guarded on its own: a plugin that fails to import or register is recorded
with its error and skipped, never taking the others down. Set ``DATABAY_LOAD_PLUGINS`` to a
comma-separated list of entry-point names to load only those (empty: load none); core's
built-in nodes are always available.
"""

from __future__ import annotations

import difflib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points, version
from typing import Any, Literal

import pluggy

from databay import default_plugins, hookspecs
from databay.base_planner import BasePlanner
from databay.errors import NodeNotInstalledError
from databay.inlet import Inlet
from databay.outlet import Outlet

__all__ = [
    "ENTRY_POINT_GROUP",
    "LOAD_PLUGINS_ENV",
    "NodeKind",
    "NodeEntry",
    "PluginInfo",
    "Provider",
    "PROVIDERS",
    "UnknownNodeError",
    "get_plugin_manager",
    "plugins",
    "nodes",
    "node_class",
    "install_command",
    "suggested_node",
    "register_commands",
]

ENTRY_POINT_GROUP = "databay"
LOAD_PLUGINS_ENV = "DATABAY_LOAD_PLUGINS"
CORE_PLUGIN = "databay"

NodeKind = Literal["inlet", "outlet", "planner"]
_KINDS: dict[str, tuple[str, type]] = {
    "inlet": ("register_inlets", Inlet),
    "outlet": ("register_outlets", Outlet),
    "planner": ("register_planners", BasePlanner),
}



@dataclass(frozen=True)
class Provider:
    """Where a first-party node that core does not ship comes from."""

    kind: NodeKind
    distribution: str
    extra: str
    module: str
    """The module defining the node, which databay 0.3's import path of it now stands for."""

    def not_installed(self, name: str) -> NodeNotInstalledError:
        return NodeNotInstalledError(
            f"{name} is provided by the {self.distribution} distribution, which is not installed. "
            f"Install it with: {install_command(name)}",
            name=name,
        )


# The one place core names first-party plugin nodes: what to install when one is asked for but missing.
PROVIDERS: dict[str, Provider] = {
    "HttpInlet": Provider("inlet", "databay-http", "http", "databay_http.http_inlet"),
    "MongoOutlet": Provider("outlet", "databay-mongo", "mongo", "databay_mongo.mongo_outlet"),
    "ApsPlanner": Provider("planner", "databay-aps", "aps", "databay_aps.aps_planner"),
    "APSPlanner": Provider("planner", "databay-aps", "aps", "databay_aps.aps_planner"),
    "SchedulePlanner": Provider("planner", "databay-schedule", "schedule", "databay_schedule.schedule_planner"),
}


def install_command(*names: str) -> str:
    """The command installing these first-party nodes, e.g. ``pip install "databay[http,mongo]"``."""
    extras = ",".join(dict.fromkeys(PROVIDERS[name].extra for name in names))
    return f'pip install "databay[{extras}]"'


_LOGGER = logging.getLogger("databay.plugins")


class UnknownNodeError(LookupError):
    """Raised when no installed plugin provides a node of that kind and name."""


@dataclass
class PluginInfo:
    """What ``databay plugins`` shows about one plugin."""

    name: str
    distribution: str
    version: str
    nodes: dict[str, list[str]] = field(default_factory=dict)
    hooks: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def builtin(self) -> bool:
        return self.name == CORE_PLUGIN


@dataclass(frozen=True)
class NodeEntry:
    """One registered node class."""

    name: str
    kind: str
    cls: type
    plugin: PluginInfo


class _Host:
    """The process-wide plugin manager, with what loading it found."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.manager: pluggy.PluginManager | None = None
        self.plugins: dict[str, PluginInfo] = {}
        self.nodes: dict[str, dict[str, NodeEntry]] = {kind: {} for kind in _KINDS}

    def load(self) -> pluggy.PluginManager:
        with self.lock:
            if self.manager is None:
                manager = pluggy.PluginManager(ENTRY_POINT_GROUP)
                manager.add_hookspecs(hookspecs)
                manager.register(default_plugins, name=CORE_PLUGIN)
                self.plugins[CORE_PLUGIN] = PluginInfo(CORE_PLUGIN, "databay", version("databay"))
                self._load_entry_points(manager)
                self._check_pending(manager)
                for plugin in self.plugins.values():
                    if plugin.error is None:
                        plugin.hooks = sorted(
                            caller.name for caller in manager.get_hookcallers(manager.get_plugin(plugin.name)) or []
                        )
                self.manager = manager
                for kind in _KINDS:
                    self._register_nodes(kind)
            return self.manager

    def _load_entry_points(self, manager: pluggy.PluginManager) -> None:
        allowed = os.environ.get(LOAD_PLUGINS_ENV)
        allowed_names = None if allowed is None else {name.strip() for name in allowed.split(",") if name.strip()}
        for entry_point in entry_points(group=ENTRY_POINT_GROUP):
            if allowed_names is not None and entry_point.name not in allowed_names:
                continue
            if entry_point.name in self.plugins:
                continue
            dist = entry_point.dist
            info = PluginInfo(
                entry_point.name,
                dist.metadata["Name"] if dist is not None else "?",
                dist.version if dist is not None else "?",
            )
            self.plugins[info.name] = info
            try:
                manager.register(entry_point.load(), name=info.name)
            except Exception as error:
                self._fail(info, error)

    def _check_pending(self, manager: pluggy.PluginManager) -> None:
        """pluggy's check_pending, attributing an unknown hook to its plugin instead of failing all."""
        while True:
            try:
                manager.check_pending()
                return
            except pluggy.PluginValidationError as error:
                name = manager.get_name(error.plugin)
                assert name is not None  # check_pending reports registered plugins only
                manager.unregister(error.plugin)
                self._fail(self.plugins[name], error)

    def _fail(self, info: PluginInfo, error: BaseException) -> None:
        info.error = f"{type(error).__name__}: {error}"
        for kind, names in info.nodes.items():
            for name in names:
                del self.nodes[kind][name]
        info.nodes = {}
        _LOGGER.warning("databay plugin %r (%s) failed to load: %s", info.name, info.distribution, info.error)

    def call_each(self, hook_name: str, kwargs_for: Callable[[PluginInfo], dict[str, Any]]) -> None:
        """Call every implementation of a hook on its own, so one plugin's failure stays its own."""
        manager = self.load()
        for impl in getattr(manager.hook, hook_name).get_hookimpls():
            info = self.plugins[impl.plugin_name]
            if info.error is not None:
                continue
            try:
                impl.function(**kwargs_for(info))
            except Exception as error:
                self._fail(info, error)

    def _register_nodes(self, kind: str) -> None:
        hook_name, base = _KINDS[kind]
        table = self.nodes[kind]

        def kwargs_for(info: PluginInfo) -> dict[str, Any]:
            def register(node_class: type, name: str | None = None) -> None:
                if not (isinstance(node_class, type) and issubclass(node_class, base)):
                    raise TypeError(f"{node_class!r} is registered as an {kind} but is not a {base.__name__} subclass")
                name = name or node_class.__name__
                existing = table.get(name)
                if existing is not None and existing.cls is not node_class:
                    _LOGGER.warning(
                        "%s %s from plugin %r is ignored: plugin %r already registered that name",
                        kind, name, info.name, existing.plugin.name,
                    )
                    return
                table[name] = NodeEntry(name, kind, node_class, info)
                info.nodes.setdefault(kind, []).append(name)

            return {"register": register}

        self.call_each(hook_name, kwargs_for)


_host = _Host()


def get_plugin_manager() -> pluggy.PluginManager:
    """The pluggy manager with core's and every installed plugin's hooks (loaded on first call)."""
    return _host.load()


def plugins() -> list[PluginInfo]:
    """Every plugin found, core first, including those that failed to load (with ``error`` set)."""
    _host.load()
    return list(_host.plugins.values())


def nodes(kind: NodeKind) -> dict[str, NodeEntry]:
    """Registered nodes of one kind, by name."""
    _host.load()
    return dict(_host.nodes[kind])


def node_class(kind: NodeKind, name: str) -> type:
    """The node class registered as ``name``.

    :raises NodeNotInstalledError: a known node whose distribution is missing or broken.
    :raises UnknownNodeError: no such node; the message lists close matches.
    """
    entry = nodes(kind).get(name)
    if entry is not None:
        return entry.cls
    provider = PROVIDERS.get(name)
    if provider is not None and provider.kind == kind:
        broken = [p for p in plugins() if p.distribution == provider.distribution and p.error]
        if broken:
            raise NodeNotInstalledError(
                f"{name} is provided by {provider.distribution}, which is installed but failed to load: "
                f"{broken[0].error}",
                name=name,
            )
        raise provider.not_installed(name)
    known = list(_host.nodes[kind])
    close = difflib.get_close_matches(name, known, n=3)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise UnknownNodeError(
        f"No {kind} named {name!r} is installed.{hint} `databay plugins --all` lists the installed nodes."
    )


def suggested_node(kind: NodeKind) -> tuple[str, str | None]:
    """A node of this kind to suggest: an installed one, else a first-party one with its install command."""
    installed = nodes(kind)
    if installed:
        return next(iter(installed)), None
    name = next(name for name, provider in PROVIDERS.items() if provider.kind == kind)
    return name, install_command(name)


def resolve_attribute(kind: NodeKind, name: str, module: str) -> type:
    """``__getattr__`` of ``databay.inlets``/``outlets``/``planners``: plugin nodes by name."""
    if name.startswith("__"):
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    try:
        return node_class(kind, name)
    except UnknownNodeError as error:
        raise AttributeError(f"module {module!r} has no attribute {name!r}. {error}") from None


def register_commands(cli: Any) -> None:
    """Let every plugin add its subcommands to the CLI group."""
    _host.call_each("register_commands", lambda info: {"cli": cli})
