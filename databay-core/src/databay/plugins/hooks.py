"""The hook specifications as users read them: ``databay plugins --hooks`` and the unmarked-hook check."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass

import pluggy

from databay import hookspecs

__all__ = ["HookSpec", "hook_specs"]


@dataclass(frozen=True)
class HookSpec:
    """One hook a plugin can implement."""

    name: str
    signature: str
    """``name(argument: Type, ...)``, as the plugin's function may take them (any subset)."""
    doc: str


@functools.cache
def hook_specs() -> tuple[HookSpec, ...]:
    """Every hook of :mod:`databay.hookspecs`, in the order it documents them."""
    marker = pluggy.PluginManager(hookspecs.hookspec.project_name)
    return tuple(
        HookSpec(name, f"{name}({_arguments(function)})", inspect.getdoc(function) or "")
        for name, function in vars(hookspecs).items()
        if marker.parse_hookspec_opts(hookspecs, name) is not None
    )


def _arguments(function: Callable[..., object]) -> str:
    parameters = inspect.signature(function).parameters.values()
    return ", ".join(f"{parameter.name}: {_annotation(parameter.annotation)}" for parameter in parameters)


def _annotation(annotation: object) -> str:
    return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
