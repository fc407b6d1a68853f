"""The ``databay`` command line. Plugins add subcommands through the ``register_commands`` hook."""

from __future__ import annotations

import json
import sys

import click

from databay import __version__
from databay.plugins import PluginInfo, plugins, register_commands

__all__ = ["cli"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="databay")
def cli() -> None:
    """databay: scheduled data transfer from inlets to outlets."""


@cli.command(name="plugins")
@click.option("--json", "as_json", is_flag=True, help="Output JSON instead of a table.")
@click.option("--all", "show_all", is_flag=True, help="Include core's built-in nodes.")
def plugins_command(as_json: bool, show_all: bool) -> None:
    """List installed plugins and the nodes they provide.

    Exits with status 1 when a plugin failed to load.
    """
    shown = [plugin for plugin in plugins() if show_all or not plugin.builtin]
    if as_json:
        click.echo(json.dumps([_as_dict(plugin) for plugin in shown], indent=2))
    else:
        click.echo(_table(shown))
    if any(plugin.error for plugin in shown):
        sys.exit(1)


def _as_dict(plugin: PluginInfo) -> dict:
    data = {
        "name": plugin.name,
        "distribution": plugin.distribution,
        "version": plugin.version,
        "builtin": plugin.builtin,
        "inlets": plugin.nodes.get("inlet", []),
        "outlets": plugin.nodes.get("outlet", []),
        "planners": plugin.nodes.get("planner", []),
        "hooks": plugin.hooks,
    }
    if plugin.error:
        data["error"] = plugin.error
    return data


def _table(shown: list[PluginInfo]) -> str:
    if not shown:
        return "No plugins installed. `databay plugins --all` includes core's built-in nodes."
    rows = [("DISTRIBUTION", "VERSION", "KIND", "NODES")]
    for plugin in shown:
        if plugin.error:
            rows.append((plugin.distribution, plugin.version, "error", f"{plugin.name}: {plugin.error}"))
        for kind, names in plugin.nodes.items():
            rows.append((plugin.distribution, plugin.version, kind, ", ".join(names)))
        extra_hooks = [hook for hook in plugin.hooks if not hook.startswith("register_") or hook == "register_commands"]
        if extra_hooks and not plugin.error:
            rows.append((plugin.distribution, plugin.version, "hooks", ", ".join(extra_hooks)))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3] for row in rows
    )


register_commands(cli)
