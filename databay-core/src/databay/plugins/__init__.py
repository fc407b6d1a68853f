"""Plugins: loading them, the node registry and name resolution.

Plugins are found through the ``databay`` entry-point group and loaded lazily, on the first
lookup, each one guarded on its own: a plugin that fails to import or register is recorded with
its error and skipped, never taking the others down. ``DATABAY_LOAD_PLUGINS`` (comma-separated
entry-point names: load only those; empty: none) and ``DATABAY_DISABLE_PLUGINS`` (never load
those) limit them; core's built-in nodes are always available. A node name is plain
(``"CountingInlet"``) or qualified by its plugin's entry-point name (``"example:CountingInlet"``).
"""

from __future__ import annotations

import click
import pluggy

from databay.plugins import commands
from databay.plugins.hooks import HookSpec, hook_specs
from databay.plugins.loading import DISABLE_PLUGINS_ENV, ENTRY_POINT_GROUP, LOAD_PLUGINS_ENV, Loader
from databay.plugins.providers import PROVIDERS, NodeKind, Provider, install_command
from databay.plugins.registry import CORE_PLUGIN, KINDS, NodeEntry, PluginInfo, UnknownNodeError

__all__ = [
    "CORE_PLUGIN",
    "DISABLE_PLUGINS_ENV",
    "ENTRY_POINT_GROUP",
    "LOAD_PLUGINS_ENV",
    "HookSpec",
    "NodeKind",
    "NodeEntry",
    "PluginInfo",
    "Provider",
    "PROVIDERS",
    "UnknownNodeError",
    "get_plugin_manager",
    "hook_specs",
    "plugins",
    "nodes",
    "node",
    "node_class",
    "install_command",
    "suggested_node",
    "register_commands",
]

_loader = Loader()


def get_plugin_manager() -> pluggy.PluginManager:
    """The pluggy manager with core's and every installed plugin's hooks (loaded on first call)."""
    return _loader.load()


def plugins() -> list[PluginInfo]:
    """Every plugin found, core first, including failed (``error``) and disabled (``disabled_by``) ones."""
    _loader.load()
    return list(_loader.registry.plugins.values())


def nodes(kind: NodeKind) -> dict[str, NodeEntry]:
    """Registered nodes of one kind, each under the name that finds it: plain, or ``entrypoint:Name``."""
    _loader.load()
    return _loader.registry.visible(kind)


def node(name: str, kind: NodeKind | None = None) -> type:
    """The node class ``name`` (``"CountingInlet"`` or ``"example:CountingInlet"``) stands for.

    A plain name registered by core and a plugin means core's; registered by two plugins, it is
    an error: name the one you mean as ``entrypoint:Name``.

    :raises AmbiguousNodeError: more than one node answers to the name; the message lists them.
    :raises NodeNotInstalledError: its distribution is missing, broken or disabled (``NodeDisabledError``).
    :raises UnknownNodeError: no such node; the message lists close matches.
    """
    _loader.load()
    return _loader.registry.resolve(name, KINDS if kind is None else (kind,)).cls


def node_class(kind: NodeKind, name: str) -> type:
    """The node class of this kind registered as ``name`` (plain or ``entrypoint:Name``); see :func:`node`."""
    return node(name, kind)


def suggested_node(kind: NodeKind) -> tuple[str, str | None]:
    """A node of this kind to suggest, and None when it can be used here, else what to do first.

    With none loaded, a first-party node: one whose plugin is installed but disabled (the advice
    says by which variable and how to enable it) or failed to load (and why), else one to install.
    """
    installed = nodes(kind)
    if installed:
        return next(iter(installed)), None
    first_party: dict[str, str] = {}  # distribution -> its first node of this kind (not an alias)
    for name, provider in PROVIDERS.items():
        if provider.kind == kind:
            first_party.setdefault(provider.distribution, name)
    for plugin in _loader.registry.plugins.values():
        name = first_party.get(plugin.distribution, "")
        unavailable = plugin.unavailable(name) if name else None
        if unavailable is not None:
            return name, str(unavailable)
    name = next(iter(first_party.values()))
    return name, str(PROVIDERS[name].not_installed(name))


def resolve_attribute(kind: NodeKind, name: str, module: str) -> type:
    """``__getattr__`` of ``databay.inlets``/``outlets``/``planners``: plugin nodes by name."""
    if name.startswith("__"):
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    try:
        return node(name, kind)
    except UnknownNodeError as error:
        raise AttributeError(f"module {module!r} has no attribute {name!r}. {error}") from None


def register_commands(cli: click.Group) -> None:
    """Let every plugin add its subcommands to the CLI group; core's commands cannot be replaced."""
    commands.register_commands(_loader, cli)
