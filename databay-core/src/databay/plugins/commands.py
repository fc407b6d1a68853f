"""Plugins' CLI subcommands, which can add to core's commands but never replace them."""

from __future__ import annotations

import click

from databay.plugins.loading import Loader
from databay.plugins.registry import CORE_PLUGIN

__all__ = ["register_commands"]


def register_commands(loader: Loader, cli: click.Group) -> None:
    """Let every plugin add subcommands to ``cli``; every command already on it is core's.

    A plugin that replaces or removes a command it does not own is reported (a problem of that
    plugin) and the command is put back: the first owner keeps it, and core always comes first.
    """
    loader.load()
    owners = dict.fromkeys(cli.commands, CORE_PLUGIN)
    for plugin, impl in loader.implementations("register_commands"):
        before = dict(cli.commands)
        succeeded = loader.call(plugin, impl, cli=cli)
        for name in sorted(set(before) | set(cli.commands)):
            command = cli.commands.get(name)
            if command is before.get(name):
                continue
            if name in before:
                cli.commands[name] = before[name]
                owner = "core's" if owners[name] == CORE_PLUGIN else f"plugin {owners[name]!r}'s"
                plugin.problem(f"command {name!r} is {owner}, so this plugin's is ignored: give it another name")
            elif succeeded:
                owners[name] = plugin.name
                plugin.commands.append(name)
            else:
                del cli.commands[name]
