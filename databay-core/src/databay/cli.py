"""The ``databay`` command line. Plugins add subcommands through the ``register_commands`` hook."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from databay import __version__
from databay.pipeline import PipelineError, load_pipeline
from databay.pipeline_runner import Outcome, run_once, run_until_signalled
from databay.pipeline_starter import starter_pipeline
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


@cli.command(name="run")
@click.argument("pipeline", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--check", is_flag=True, help="Only validate the pipeline; start nothing.")
@click.option("--once", is_flag=True, help="Transfer every link once, then exit (for cron jobs).")
@click.option("-v", "--verbose", count=True, help="Log more: -v INFO, -vv DEBUG.")
@click.option(
    "--shutdown-timeout",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="On SIGINT/SIGTERM, cancel transfers still running after this long.",
)
def run_command(pipeline: Path, check: bool, once: bool, verbose: int, shutdown_timeout: float) -> None:
    """Run the planner and links described in a PIPELINE file (TOML).

    SIGINT/SIGTERM shut down gracefully: running transfers finish (or are cancelled after
    --shutdown-timeout), buffers are released, batches spilled in memory get one more try.

    Exit status: 0 every record delivered or spilled to disk; 1 the planner stopped on an
    exception; 2 the file has problems (all reported before anything starts); 3 records lost.
    """
    if verbose:
        logging.getLogger("databay").setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
    try:
        loaded = load_pipeline(pipeline)
    except PipelineError as error:
        click.echo(f"Error: {error}", err=True)
        click.echo("`databay plugins --all` lists the nodes installed here.", err=True)
        sys.exit(Outcome.BAD_PIPELINE)
    if check:
        click.echo(f"{pipeline}: OK ({len(loaded.links)} link(s), planner {loaded.planner!r})")
        return
    sys.exit(run_once(loaded) if once else run_until_signalled(loaded, shutdown_timeout))


@cli.command(name="init")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default="pipeline.toml")
def init_command(path: Path) -> None:
    """Write a starter pipeline file (default: pipeline.toml) that runs with `databay run`."""
    if path.exists():
        click.echo(f"Error: {path} already exists; choose another path.", err=True)
        sys.exit(2)
    path.write_text(starter_pipeline(), encoding="utf-8")
    click.echo(f"Wrote {path}. Try: databay run --check {path} && databay run {path}")


def _as_dict(plugin: PluginInfo) -> dict[str, Any]:
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
