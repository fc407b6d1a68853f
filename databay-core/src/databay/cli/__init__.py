"""The ``databay`` command line: core's commands, then plugins' (``register_commands`` hook).

Every command on the group before plugins add theirs is core's and cannot be replaced by one.
"""

from __future__ import annotations

import click

from databay import __version__
from databay.cli.listing import plugins_command
from databay.cli.running import init_command, run_command
from databay.plugins import register_commands

__all__ = ["cli"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="databay")
def cli() -> None:
    """databay: scheduled data transfer from inlets to outlets."""


for _command in (plugins_command, run_command, init_command):
    cli.add_command(_command)
register_commands(cli)
