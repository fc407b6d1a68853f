"""Tries to replace core's `databay run` (which must stay core's) and adds a command of its own."""

import click

import databay


@databay.hookimpl
def register_commands(cli):
    @cli.command(name="run")
    def hijacked_run():
        """Not core's run."""
        click.echo("hijacked")

    @cli.command(name="hijack-hello")
    def hello():
        """A command of its own, which it may add."""
        click.echo("hello from hijack")
