"""The registry: which plugin registered which node names, and what a name means.

A plain name means the one node registered under it; core's built-ins win over a plugin's node of
the same name, and a name two plugins register is an error at lookup, never settled by
site-packages order. ``entrypoint:Name`` names one plugin's node whatever else is installed.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, field

from databay.errors import AmbiguousNodeError, NodeDisabledError, NodeNotInstalledError
from databay.plugins.providers import PROVIDERS, NodeKind

__all__ = ["CORE_PLUGIN", "NodeEntry", "PluginInfo", "Registry", "UnknownNodeError"]

CORE_PLUGIN = "databay"
"""The plugin name of core's built-in nodes (registered through the same hooks)."""

KINDS: tuple[NodeKind, ...] = ("inlet", "outlet", "planner")

_LOGGER = logging.getLogger("databay.plugins")


class UnknownNodeError(LookupError):
    """Raised when no installed plugin provides a node of that kind and name."""


@dataclass
class PluginInfo:
    """What ``databay plugins`` shows about one plugin."""

    name: str
    """Its entry-point name: what ``entrypoint:Name`` and the ``DATABAY_*_PLUGINS`` variables use."""
    distribution: str
    version: str
    nodes: dict[str, list[str]] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """What of the plugin is ignored or needs care; it loaded nonetheless."""
    error: str | None = None
    """Why it failed to load; a failed plugin provides nothing."""
    disabled_by: str | None = None
    """The environment variable that kept it from loading."""
    loading: bool = field(default=False, repr=False)
    """Its module's import has not finished (it looked a node up): the next lookup after it does registers it."""

    @property
    def builtin(self) -> bool:
        return self.name == CORE_PLUGIN

    def problem(self, message: str, level: int = logging.WARNING) -> None:
        """Record a problem and log it: pluggy and the registry would otherwise ignore it silently.

        A name clash is logged at INFO: lookups settle it, so it need not warn on every run.
        """
        self.problems.append(message)
        _LOGGER.log(level, "databay plugin %r (%s): %s", self.name, self.distribution, message)

    def unavailable(self, name: str) -> NodeNotInstalledError | None:
        """Why ``name``, which this plugin provides, cannot be had now; None when it can."""
        source = f"{name} is provided by plugin {self.name!r} ({self.distribution}), which"
        if self.disabled_by is not None:
            fix = "remove it from" if self.disabled_by.endswith("DISABLE_PLUGINS") else "add it to"
            return NodeDisabledError(f"{source} is disabled by {self.disabled_by}: {fix} that variable.", name=name)
        if self.error is not None:
            return NodeNotInstalledError(f"{source} is installed but failed to load: {self.error}", name=name)
        if self.loading:
            return NodeNotInstalledError(
                f"{source} is still being imported: a plugin module cannot use its own nodes at import time.",
                name=name,
            )
        return None


@dataclass(frozen=True)
class NodeEntry:
    """One registered node class."""

    name: str
    kind: NodeKind
    cls: type
    plugin: PluginInfo

    @property
    def qualified(self) -> str:
        """``entrypoint:Name``: this node, whichever other plugin registers the same name."""
        return f"{self.plugin.name}:{self.name}"


class Registry:
    """Every plugin found (loaded, failed or disabled) and the nodes the loaded ones registered."""

    def __init__(self) -> None:
        self.plugins: dict[str, PluginInfo] = {}
        self._entries: dict[str, list[NodeEntry]] = {}

    def add(self, entry: NodeEntry) -> None:
        """Register a node; a name clash is recorded as a problem, to be settled at lookup."""
        same_kind = [other for other in self._entries.get(entry.name, []) if other.kind == entry.kind]
        own = next((other for other in same_kind if other.plugin is entry.plugin), None)
        if own is not None:
            if own.cls is not entry.cls:
                entry.plugin.problem(
                    f"{entry.kind} {entry.name} is registered twice, as {own.cls!r} and {entry.cls!r}: the first is kept"
                )
            return
        self._entries.setdefault(entry.name, []).append(entry)
        entry.plugin.nodes.setdefault(entry.kind, []).append(entry.name)
        if any(other.plugin.builtin for other in same_kind):
            entry.plugin.problem(
                f"{entry.kind} {entry.name} is also a core built-in, which the plain name keeps meaning: "
                f"name this one {entry.qualified!r}",
                logging.INFO,
            )
        elif same_kind:
            for clashing, clashes_with in [(entry, same_kind), *((other, [entry]) for other in same_kind)]:
                others = ", ".join(other.plugin.name for other in clashes_with)
                clashing.plugin.problem(
                    f"{clashing.kind} {clashing.name} is also registered by {others}: "
                    f"the plain name is ambiguous, name this one {clashing.qualified!r}",
                    logging.INFO,
                )

    def remove(self, plugin: PluginInfo) -> None:
        """Forget a plugin's nodes (it failed to load)."""
        for name in [name for names in plugin.nodes.values() for name in names]:
            self._entries[name] = [entry for entry in self._entries[name] if entry.plugin is not plugin]
        plugin.nodes = {}

    def visible(self, kind: NodeKind) -> dict[str, NodeEntry]:
        """One key per node of this kind: its plain name if that resolves to it, else ``entrypoint:Name``."""
        table: dict[str, NodeEntry] = {}
        for name, entries in self._entries.items():
            same_kind = [entry for entry in entries if entry.kind == kind]
            winners = [entry for entry in same_kind if entry.plugin.builtin] or same_kind
            for entry in same_kind:
                table[name if winners == [entry] else entry.qualified] = entry
        return table

    def resolve(self, name: str, kinds: tuple[NodeKind, ...]) -> NodeEntry:
        """The node ``name`` (plain or ``entrypoint:Name``) means among these kinds.

        :raises AmbiguousNodeError: several nodes answer to it; the message lists them and the fix.
        :raises NodeNotInstalledError: its plugin is missing, broken or disabled (``NodeDisabledError``).
        :raises UnknownNodeError: nothing answers to it; the message lists close matches.
        """
        if not isinstance(name, str):
            raise UnknownNodeError(f"A node is named by a string, e.g. \"RandomIntInlet\", not {name!r}.")
        plugin_name, qualified, plain = name.rpartition(":")
        matches = [entry for entry in self._entries.get(plain, []) if entry.kind in kinds]
        if qualified:
            matches = [entry for entry in matches if entry.plugin.name == plugin_name]
        else:
            matches = [entry for entry in matches if entry.plugin.builtin] or matches
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise self._ambiguous(name, matches)
        raise self._missing(name, plugin_name, kinds)

    @staticmethod
    def _ambiguous(name: str, matches: list[NodeEntry]) -> AmbiguousNodeError:
        listed = ", ".join(f"{entry.qualified} ({entry.kind}, {entry.plugin.distribution})" for entry in matches)
        if len({entry.qualified for entry in matches}) < len(matches):
            fix = "Look it up with its kind, e.g. node_class(\"inlet\", ...)."
        else:
            fix = (
                f"Name the one you mean as entrypoint:Name, e.g. type = \"{matches[0].qualified}\" in a pipeline "
                f"file or databay.plugins.node(\"{matches[0].qualified}\")."
            )
        return AmbiguousNodeError(f"{name!r} is registered by more than one plugin: {listed}. {fix}", name=name)

    def _missing(self, name: str, plugin_name: str, kinds: tuple[NodeKind, ...]) -> Exception:
        what = kinds[0] if len(kinds) == 1 else "node"
        plain = name.rpartition(":")[2]
        if plugin_name:
            plugin = self.plugins.get(plugin_name)
            if plugin is None:
                return UnknownNodeError(
                    f"No plugin named {plugin_name!r} (in {name!r}) is installed; plugins: "
                    f"{', '.join(self.plugins)}. `databay plugins --all` lists them."
                )
            provided = [entry.name for entry in self._entries_of(plugin) if entry.kind in kinds]
            return plugin.unavailable(name) or UnknownNodeError(
                f"Plugin {plugin_name!r} registers no {what} named {plain!r}"
                f"{'; it registers: ' + ', '.join(provided) if provided else ''}."
            )
        provider = PROVIDERS.get(name)
        if provider is not None and provider.kind in kinds:
            for plugin in self.plugins.values():
                unavailable = plugin.unavailable(name) if plugin.distribution == provider.distribution else None
                if unavailable is not None:
                    return unavailable
            return provider.not_installed(name)
        known = [key for kind in kinds for key in self.visible(kind)]
        close = difflib.get_close_matches(name, known, n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        idle = [f"{plugin.name} ({plugin.disabled_by or 'still loading'})" for plugin in self.plugins.values()
                if plugin.disabled_by or plugin.loading]
        idle_note = f" Plugins not loaded, whose nodes are unknown: {', '.join(idle)}." if idle else ""
        return UnknownNodeError(
            f"No {what} named {name!r} is installed.{hint}{idle_note} `databay plugins --all` lists the installed nodes."
        )

    def _entries_of(self, plugin: PluginInfo) -> list[NodeEntry]:
        return [entry for entries in self._entries.values() for entry in entries if entry.plugin is plugin]
