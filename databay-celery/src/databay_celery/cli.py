"""``databay celery``: run a worker, a scheduler, or look at the cluster."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
import redis

from databay.pipeline import PipelineError
from databay.pipeline_runner import Outcome
from databay.redaction import redact_text, redact_url, url_secrets
from databay_celery.loading import TargetError, load_target
from databay_celery.planner import CeleryPlanner

__all__ = ["celery_group"]

_TARGET = click.argument("target", metavar="PIPELINE.toml|module:callable")
_BROKER = click.option(
    "--broker-url", default=None, envvar="DATABAY_BROKER_URL", show_envvar=True,
    help="The cluster's Redis, when the target returns links (the variable keeps a password out of `ps`).",
)
_VERBOSE = click.option("-v", "--verbose", count=True, help="Log more: -v INFO, -vv DEBUG.")


@click.group(name="celery")
def celery_group() -> None:
    """Run a pipeline on a Celery cluster (Redis broker, redbeat schedule)."""


def _load(target: str, broker_url: str | None, verbose: int) -> CeleryPlanner:
    if verbose:
        logging.getLogger("databay").setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
    try:
        return load_target(target, broker_url)
    except (PipelineError, TargetError) as error:
        click.echo(f"Error: {redact_text(str(error), url_secrets(broker_url or ''))}", err=True)
        sys.exit(Outcome.BAD_PIPELINE)


@contextmanager
def _reaching(planner: CeleryPlanner) -> Iterator[None]:
    """Redis out of reach: one line naming it (without its secrets) and exit status 1."""
    try:
        yield
    except (redis.RedisError, OSError) as error:
        click.echo(f"Error: cannot reach Redis at {redact_url(planner.broker_url)}: {redact_text(str(error))}", err=True)
        sys.exit(Outcome.FAILED)


@celery_group.command(name="worker")
@_TARGET
@_BROKER
@_VERBOSE
@click.option("-c", "--concurrency", type=click.IntRange(min=1), default=None, help="Transfers at once (default: the planner's).")
def worker_command(target: str, broker_url: str | None, verbose: int, concurrency: int | None) -> None:
    """Run transfers of the target's links until SIGTERM/SIGINT (running ones finish first)."""
    from databay_celery.worker import run_worker

    planner = _load(target, broker_url, verbose)
    with _reaching(planner):
        sys.exit(run_worker(planner, concurrency=concurrency, loglevel="INFO" if verbose else "WARNING"))


@celery_group.command(name="scheduler")
@_TARGET
@_BROKER
@_VERBOSE
def scheduler_command(target: str, broker_url: str | None, verbose: int) -> None:
    """Publish the target's slots while holding the lock, stand by otherwise; until SIGTERM/SIGINT.

    The same as ``databay run PIPELINE.toml``, also for links defined in Python.
    """
    from databay.pipeline import Pipeline
    from databay.pipeline_runner import run_until_signalled

    planner = _load(target, broker_url, verbose)
    sys.exit(run_until_signalled(Pipeline(planner, planner.links)))


@celery_group.command(name="status")
@_TARGET
@_BROKER
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
def status_command(target: str, broker_url: str | None, as_json: bool) -> None:
    """Workers (node name, PID), queue depth and each link's last run."""
    from databay_celery.status import cluster_status, format_status

    planner = _load(target, broker_url, 0)
    with _reaching(planner):
        status = cluster_status(planner)
    click.echo(json.dumps(status, indent=2) if as_json else format_status(status))
