"""``databay run`` and ``databay init``: running a pipeline file, and writing a starter one."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from databay.monitoring import DEFAULT_HOST
from databay.pipeline import PipelineError, load_pipeline, planner_hint
from databay.pipeline_runner import Outcome, run_once, run_until_signalled
from databay.pipeline_starter import starter_next_step, starter_pipeline

__all__ = ["init_command", "run_command"]


@click.command(name="run")
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
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    metavar="PORT",
    help="While running, serve /healthz (and /metrics with databay-prometheus) on PORT; 0 picks a free one (logged with -v).",
)
@click.option("--metrics-host", default=DEFAULT_HOST, show_default=True, help="The address the monitoring server binds.")
def run_command(
    pipeline: Path,
    check: bool,
    once: bool,
    verbose: int,
    shutdown_timeout: float,
    metrics_port: int | None,
    metrics_host: str,
) -> None:
    """Run the planner and links described in a PIPELINE file (TOML). With --once, every link
    transfers once and no planner is needed (the file may leave out [planner]).

    SIGINT/SIGTERM shut down gracefully: running transfers finish (or are cancelled after
    --shutdown-timeout), buffers are released, batches spilled in memory get one more try.

    Exit status: 0 every record delivered or spilled to disk; 1 the planner stopped on an
    exception; 2 the file has problems (all reported before anything starts); 3 records lost.
    """
    if once and metrics_port is not None:
        raise click.UsageError("--metrics-port serves while a planner runs; --once exits after one transfer.")
    if verbose:
        logging.getLogger("databay").setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
    try:
        loaded = load_pipeline(pipeline)
    except PipelineError as error:
        click.echo(f"Error: {error}", err=True)
        click.echo("`databay plugins --all` lists the nodes installed here.", err=True)
        sys.exit(Outcome.BAD_PIPELINE)
    if check:
        planner = f"planner {loaded.planner!r}" if loaded.planner else "no planner: it runs with --once"
        click.echo(f"{pipeline}: OK ({len(loaded.links)} link(s), {planner})")
        return
    if loaded.planner is None and not once:
        click.echo(f"Error: {pipeline} has no [planner] table, so it can only run with --once.", err=True)
        click.echo(f"To run it on its interval, add:\n{planner_hint()}", err=True)
        sys.exit(Outcome.BAD_PIPELINE)
    if once:
        sys.exit(run_once(loaded))
    sys.exit(run_until_signalled(loaded, shutdown_timeout, metrics_port, metrics_host))


@click.command(name="init")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default="pipeline.toml")
def init_command(path: Path) -> None:
    """Write a starter pipeline file (default: pipeline.toml) that runs with what is installed."""
    if path.exists():
        click.echo(f"Error: {path} already exists; choose another path.", err=True)
        sys.exit(2)
    path.write_text(starter_pipeline(str(path)), encoding="utf-8")
    click.echo(f"Wrote {path}. Try: {starter_next_step(str(path))}")
