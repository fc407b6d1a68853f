"""Loading plugins: entry points into one pluggy manager and the registry, once per process.

Loading is lazy (the first lookup) and each plugin is guarded on its own. Plugin modules are
imported without holding the loader's lock, which is taken only to register what an import
returned: a thread inside a plugin module's import that looks a node up would otherwise wait for
the lock while the loading thread waits for that module's import lock, for ever. Every thread
looking a node up imports (or waits for Python's import of) the plugins not registered yet, so it
sees them all, in entry-point order.

It is re-entrant: a plugin module that looks up a node at import time (``from databay.planners
import ApsPlanner``) gets an answer from core's built-ins and the other plugins; the module itself,
still half-built, is registered by the first lookup after its import completes, whoever started it.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import threading
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint, entry_points, version
from typing import Any

import pluggy

from databay import default_plugins, hookspecs
from databay.base_planner import BasePlanner
from databay.inlet import Inlet
from databay.outlet import Outlet
from databay.plugins.hooks import hook_specs
from databay.plugins.providers import NodeKind
from databay.plugins.registry import CORE_PLUGIN, NodeEntry, PluginInfo, Registry
from databay.redaction import redact_text

__all__ = ["DISABLE_PLUGINS_ENV", "ENTRY_POINT_GROUP", "LOAD_PLUGINS_ENV", "Loader"]

ENTRY_POINT_GROUP = "databay"
LOAD_PLUGINS_ENV = "DATABAY_LOAD_PLUGINS"
"""Comma-separated entry-point names: load only these (empty: none). Core's built-ins always load."""
DISABLE_PLUGINS_ENV = "DATABAY_DISABLE_PLUGINS"
"""Comma-separated entry-point names never to load, like pytest's ``-p no:NAME``."""

_REGISTRATION: dict[NodeKind, tuple[str, type]] = {
    "inlet": ("register_inlets", Inlet),
    "outlet": ("register_outlets", Outlet),
    "planner": ("register_planners", BasePlanner),
}

_LOGGER = logging.getLogger("databay.plugins")


class Loader:
    """The process-wide plugin manager and the registry it fills."""

    def __init__(self) -> None:
        self.registry = Registry()
        self._lock = threading.RLock()
        self._manager: pluggy.PluginManager | None = None
        self._pending: list[EntryPoint] = []

    def load(self) -> pluggy.PluginManager:
        """Load every plugin not loaded yet (once each); re-entered from a plugin's import, load the others."""
        with self._lock:
            if self._manager is None:
                self._start()
            manager, pending = self._manager, list(self._pending)
        assert manager is not None
        for entry_point in pending:
            with self._lock:
                if entry_point not in self._pending:  # registered meanwhile, by another thread or a nested load
                    continue
            try:
                loaded: object = _import(entry_point)
            except Exception as error:
                loaded = error
            with self._lock:
                if entry_point in self._pending:
                    self._settle(entry_point, loaded)
        return manager

    def implementations(
        self, hook_name: str, plugin: PluginInfo | None = None
    ) -> Iterator[tuple[PluginInfo, pluggy.HookImpl]]:
        """``(plugin, hookimpl)`` of every plugin loaded so far implementing a hook (or of one plugin)."""
        assert self._manager is not None
        for impl in getattr(self._manager.hook, hook_name).get_hookimpls():
            info = self.registry.plugins[impl.plugin_name]
            if info.error is None and (plugin is None or info is plugin):
                yield info, impl

    def call(self, plugin: PluginInfo, impl: pluggy.HookImpl, **kwargs: Any) -> bool:
        """Call one hook implementation as pluggy would; if it raises, the plugin fails, alone."""
        try:
            impl.function(*(kwargs[name] for name in impl.argnames))
        except Exception as error:
            self.fail(plugin, error)
            return False
        return True

    def fail(self, plugin: PluginInfo, error: BaseException) -> None:
        """Report a plugin that cannot load and take back everything it provided."""
        plugin.error = redact_text(f"{type(error).__name__}: {error}")  # databay plugins prints it
        self.registry.remove(plugin)
        if self._manager is not None and self._manager.has_plugin(plugin.name):
            self._manager.unregister(name=plugin.name)
        _LOGGER.warning("databay plugin %r (%s) failed to load: %s", plugin.name, plugin.distribution, plugin.error)

    def _start(self) -> None:
        """Core's built-ins first (so re-entrant lookups always find them), then every entry point found."""
        self._manager = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self._manager.add_hookspecs(hookspecs)
        core = PluginInfo(CORE_PLUGIN, "databay", version("databay"))
        self.registry.plugins[CORE_PLUGIN] = core
        self._register(core, default_plugins)
        allowed, denied = _names(LOAD_PLUGINS_ENV), _names(DISABLE_PLUGINS_ENV) or set()
        for entry_point in entry_points(group=ENTRY_POINT_GROUP):
            distribution = entry_point.dist.metadata["Name"] if entry_point.dist is not None else "?"
            known = self.registry.plugins.get(entry_point.name)
            if known is not None:
                if known.distribution != distribution:
                    _LOGGER.warning(
                        "databay plugin %r of %s is not loaded: %s already uses that entry-point name",
                        entry_point.name, distribution, known.distribution,
                    )
                continue
            plugin = PluginInfo(entry_point.name, distribution, entry_point.dist.version if entry_point.dist else "?")
            if entry_point.name in denied:
                plugin.disabled_by = DISABLE_PLUGINS_ENV
            elif allowed is not None and entry_point.name not in allowed:
                plugin.disabled_by = LOAD_PLUGINS_ENV
            else:
                self._pending.append(entry_point)
            self.registry.plugins[plugin.name] = plugin
        for variable, names in ((LOAD_PLUGINS_ENV, allowed or set()), (DISABLE_PLUGINS_ENV, denied)):
            unknown = sorted(names - set(self.registry.plugins))
            if unknown:
                _LOGGER.warning("%s names no installed plugin: %s", variable, ", ".join(unknown))

    def _settle(self, entry_point: EntryPoint, loaded: object) -> None:
        """Register what importing a plugin returned, fail it, or leave it pending while half-built."""
        plugin = self.registry.plugins[entry_point.name]
        plugin.loading = loaded is _STILL_IMPORTING
        if plugin.loading:
            return
        self._pending.remove(entry_point)
        if isinstance(loaded, Exception):
            self.fail(plugin, loaded)
            return
        try:
            self._register(plugin, loaded)
        except Exception as error:
            self.fail(plugin, error)

    def _register(self, plugin: PluginInfo, module: object) -> None:
        """Register one plugin's hooks, check them (pluggy's check_pending) and its nodes."""
        assert self._manager is not None
        self._warn_unmarked(plugin, module)
        self._manager.register(module, name=plugin.name)
        self._manager.check_pending()  # every earlier plugin passed it: an unknown hook here is this plugin's
        plugin.hooks = sorted(caller.name for caller in self._manager.get_hookcallers(module) or [])
        for kind, (hook_name, base) in _REGISTRATION.items():
            for _, impl in self.implementations(hook_name, plugin):
                if not self.call(plugin, impl, register=self._registrar(plugin, kind, base)):
                    return

    def _registrar(self, plugin: PluginInfo, kind: NodeKind, base: type) -> Callable[..., None]:
        def register(node_class: type, name: str | None = None) -> None:
            if not (isinstance(node_class, type) and issubclass(node_class, base)):
                raise TypeError(f"{node_class!r} is registered as an {kind} but is not a {base.__name__} subclass")
            name = name or node_class.__name__
            if ":" in name:
                raise ValueError(f"node name {name!r} has a ':', which separates a plugin's name from a node's")
            self.registry.add(NodeEntry(name, kind, node_class, plugin))

        return register

    def _warn_unmarked(self, plugin: PluginInfo, module: object) -> None:
        """pluggy ignores a hook-named function without ``@hookimpl``: say so instead."""
        assert self._manager is not None
        hooks = {spec.name for spec in hook_specs()}
        for name in dir(module):
            if not (name.startswith("register_") or name in hooks) or not inspect.isroutine(getattr(module, name)):
                continue
            if self._manager.parse_hookimpl_opts(module, name) is None:
                unknown = "" if name in hooks else f" (and no hook is named {name}: `databay plugins --hooks` lists them)"
                plugin.problem(
                    f"{name}() is not a hook implementation, so databay never calls it: "
                    f"decorate it with @databay.hookimpl{unknown}"
                )


_STILL_IMPORTING = object()
"""What :func:`_import` returns for a plugin whose module has not finished importing."""


def _import(entry_point: EntryPoint) -> object:
    """The entry point's object, or ``_STILL_IMPORTING`` while its module is half-built.

    That is this thread's own import (a lookup at import time), or another thread's that waits on
    one of ours: two threads each inside a plugin module's import that looks a node up, which
    Python's import system reports as a deadlock instead of letting both wait.
    """
    try:
        module = importlib.import_module(entry_point.module)
    except RuntimeError as error:
        if type(error).__name__ == "_DeadlockError":  # importlib's, raised by its module locks
            return _STILL_IMPORTING
        raise
    if getattr(getattr(module, "__spec__", None), "_initializing", False):
        return _STILL_IMPORTING
    return entry_point.load()


def _names(variable: str) -> set[str] | None:
    value = os.environ.get(variable)
    return None if value is None else {name.strip() for name in value.split(",") if name.strip()}
