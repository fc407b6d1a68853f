"""``databay plugins``: what is installed, what each plugin provides, and the hooks it can implement."""

from __future__ import annotations

import json
import sys
import textwrap
from dataclasses import asdict
from typing import Any

import click

from databay.checking import check_nodes, exit_status, format_reports
from databay.plugins import PluginInfo, hook_specs, plugins
from databay.plugins.registry import KINDS

__all__ = ["plugins_command"]


@click.command(name="plugins")
@click.argument("name", required=False)
@click.option("--check", is_flag=True, help="Check every node (or NAME's: a plugin, a node or entrypoint:Name) against the node contract.")
@click.option("--json", "as_json", is_flag=True, help="Output JSON instead of a table.")
@click.option("--all", "show_all", is_flag=True, help="Include core's built-in nodes.")
@click.option("--hooks", "show_hooks", is_flag=True, help="Document the hooks a plugin can implement instead.")
def plugins_command(name: str | None, check: bool, as_json: bool, show_all: bool, show_hooks: bool) -> None:
    """List installed plugins: entry-point name, distribution, version, nodes by kind, commands,
    hooks implemented, problems, and whether one is disabled or failed to load.

    With --check, construct every registered node as a pipeline would (without connecting) and
    report per node whether it keeps the contract; NAME limits it to one plugin or node (a node
    two plugins register is shown, and named, as entrypoint:Name).

    Exits with status 1 when a plugin failed to load, or a checked node has problems.
    """
    if check:
        reports = check_nodes(name)
        click.echo(format_reports(reports))
        sys.exit(exit_status(reports))
    if name is not None:
        raise click.UsageError("NAME is only for --check; `databay plugins` lists every plugin.")
    if show_hooks:
        specs = hook_specs()
        click.echo(json.dumps([asdict(spec) for spec in specs], indent=2) if as_json else "\n\n".join(
            f"{spec.signature}\n{textwrap.indent(spec.doc, '    ')}" for spec in specs
        ))
        return
    shown = [plugin for plugin in plugins() if show_all or not plugin.builtin]
    if as_json:
        click.echo(json.dumps([_as_dict(plugin) for plugin in shown], indent=2))
    else:
        click.echo(_table(shown))
    if any(plugin.error for plugin in shown):
        sys.exit(1)


def _as_dict(plugin: PluginInfo) -> dict[str, Any]:
    return {
        "name": plugin.name,
        "distribution": plugin.distribution,
        "version": plugin.version,
        "builtin": plugin.builtin,
        "disabled_by": plugin.disabled_by,
        "error": plugin.error,
        **{f"{kind}s": plugin.nodes.get(kind, []) for kind in KINDS},
        "commands": plugin.commands,
        "hooks": plugin.hooks,
        "problems": plugin.problems,
    }


def _rows(plugin: PluginInfo) -> list[tuple[str, str]]:
    """``(what, names)`` lines of one plugin, its state first."""
    rows = [("disabled", f"by {plugin.disabled_by}")] if plugin.disabled_by else []
    rows += [("error", plugin.error)] if plugin.error else []
    rows += [(kind, ", ".join(plugin.nodes[kind])) for kind in KINDS if kind in plugin.nodes]
    rows += [("commands", ", ".join(plugin.commands))] if plugin.commands else []
    rows += [("hooks", ", ".join(plugin.hooks))] if plugin.hooks else []
    return rows + [("problem", problem) for problem in plugin.problems]


def _table(shown: list[PluginInfo]) -> str:
    if not shown:
        return "No plugins installed. `databay plugins --all` includes core's built-in nodes."
    rows = [("PLUGIN", "DISTRIBUTION", "VERSION", "KIND", "NAMES")]
    rows += [(plugin.name, plugin.distribution, plugin.version, *row) for plugin in shown for row in _rows(plugin)]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    return "\n".join("  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[4]]) for row in rows)
