"""databay plugin registration for databay-celery: the planner and the ``databay celery`` commands."""

from __future__ import annotations

import click

from databay import hookimpl
from databay.hookspecs import Register


@hookimpl
def register_planners(register: Register) -> None:
    from databay_celery.planner import CeleryPlanner

    register(CeleryPlanner)


@hookimpl
def register_commands(cli: click.Group) -> None:
    from databay_celery.cli import celery_group

    cli.add_command(celery_group)
