"""The node contract checker behind ``databay plugins --check [NAME]``.

Every registered node is inspected as a pipeline would use it, without opening a connection:

- constructible from keyword arguments: every required constructor parameter is annotated, and
  the node can be built from harmless values of those types;
- sync/async declared consistently: ``is_async`` matches whether ``pull``/``push`` is a
  coroutine function, and ``blocking`` is set only on sync nodes;
- repr without secrets: built with ``user:s3cret@`` in its URL/URI parameters, neither ``repr``
  nor ``str`` shows ``s3cret``;
- ``on_start``/``on_shutdown`` safe to call twice: ``on_shutdown`` twice on a node never started,
  and start → shutdown → shutdown → start → shutdown on nodes without an endpoint or a path
  (starting those would connect or open files, so they are not started). A parameter points
  outside by its name (``url``, ``dsn``, ``connection``, ``hosts``, ``bootstrap_servers``,
  ``brokers``, ``port``, ``filepath``...) or by a default that looks like an endpoint
  (``redis://localhost``, ``localhost:5672``, an IP address).

Each node is checked in a daemon thread for at most ``timeout`` seconds: a constructor or an
``on_start`` that connects after all (to an endpoint its signature does not show) is reported as
not returning, and the check goes on to the next node.
"""

from __future__ import annotations

import inspect
import os
import re
import tempfile
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from databay import plugins
from databay.inlet import Inlet
from databay.node import Node
from databay.outlet import Outlet

__all__ = ["CHECK_TIMEOUT", "SECRET", "NodeReport", "check_node", "check_nodes", "exit_status", "format_reports"]

SECRET = "s3cret"
"""The password put into URL parameters; a repr containing it leaks secrets."""

CHECK_TIMEOUT = 10.0
"""Seconds one node's check may take before it is reported as not returning."""

_URL = re.compile(r"(^|_)(url|uri|dsn|endpoint|address|connection|conn|connstr)s?($|_)")
"""Parameter names of an endpoint given as a URL: the check passes one carrying a secret."""
_HOST = re.compile(r"(^|_)(host|hostname|server|broker|cluster|socket|port)s?($|_)")
"""Parameter names of a place on the network (``bootstrap_servers``, ``hosts``, ``brokers``...)."""
_PATH = re.compile(r"(^|_)(path|filepath|file|filename|dir|directory|folder)($|_)")
_ENDPOINT_VALUE = re.compile(r"://|^localhost\b|^\d{1,3}(\.\d{1,3}){3}\b|^[\w.-]+:\d{2,5}$")
"""A default value that points outside the process: a URL, localhost, an IP address, host:port."""
_KINDS: tuple[plugins.NodeKind, ...] = ("inlet", "outlet", "planner")


@dataclass
class NodeReport:
    """The outcome for one registered node: ``problems`` break the contract, ``notes`` say which
    checks could not run and why."""

    kind: str
    name: str
    plugin: str
    distribution: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the node passed every check that could run."""
        return not self.problems


def check_nodes(name: str | None = None, timeout: float = CHECK_TIMEOUT) -> list[NodeReport]:
    """Check every registered node, or those ``name`` selects: a plugin's entry-point name, a node
    name (every node so named) or ``entrypoint:Name``. Each is reported under the name a pipeline
    uses for it: plain, or ``entrypoint:Name`` where two plugins register the plain name."""
    reports = []
    for kind in _KINDS:
        for key, entry in plugins.nodes(kind).items():
            if name is None or name in (key, entry.name, entry.qualified, entry.plugin.name):
                reports.append(check_node(kind, key, entry.cls, entry.plugin.name, entry.plugin.distribution, timeout))
    return reports


def check_node(
    kind: str, name: str, cls: type, plugin: str = "", distribution: str = "", timeout: float = CHECK_TIMEOUT
) -> NodeReport:
    """Check one node class (see the module docstring for what is checked), for at most ``timeout`` s."""
    report = NodeReport(kind, name, plugin, distribution)
    doing = ["the check"]  # the step under way, named if it does not return
    worker = threading.Thread(target=_check, args=(cls, report, doing), name=f"databay-check-{name}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():  # left behind: a daemon thread does not keep the process alive
        problem = f"{doing[0]} did not return within {timeout:g} s: it may be waiting on a connection"
        return NodeReport(kind, name, plugin, distribution, problems=[problem])
    return report


def _check(cls: type, report: NodeReport, doing: list[str]) -> None:
    try:
        with tempfile.TemporaryDirectory(prefix="databay-check-") as scratch:
            arguments, external = _arguments(cls, Path(scratch), report)
            if arguments is None or report.problems:
                return
            doing[0] = "the constructor"
            try:
                node = _construct(cls, arguments)
            except Exception as error:
                report.problems.append(
                    f"cannot be constructed from keyword arguments {_show(arguments)}: {type(error).__name__}: {error}"
                )
                return
            if any(SECRET in str(value) for value in arguments.values()):
                doing[0] = "repr()"
                _check_repr(node, report)
            if isinstance(node, Node):
                doing[0] = "is_async/blocking"
                _check_async(node, report)
                _check_lifecycle(node, external, report, doing)
    except Exception as error:  # reported, not lost in a thread's traceback
        report.problems.append(f"{doing[0]} raised {type(error).__name__}: {error}")


def _arguments(cls: type, scratch: Path, report: NodeReport) -> tuple[dict[str, Any] | None, str | None]:
    """Keyword arguments a pipeline could pass (required ones, plus URLs carrying a secret), and the
    name of a parameter pointing outside the process (an endpoint or a path), if any."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError) as error:
        report.problems.append(f"its constructor signature cannot be read: {error}")
        return None, None
    arguments: dict[str, Any] = {}
    external = None
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        required = parameter.default is parameter.empty
        if parameter.kind is parameter.POSITIONAL_ONLY and required:
            report.problems.append(f"required parameter {parameter.name!r} is positional-only: a pipeline passes keywords")
            continue
        if _points_outside(parameter.name, None if required else parameter.default):
            external = external or parameter.name
        annotation = parameter.annotation
        if annotation is parameter.empty:
            if required:
                report.problems.append(f"required parameter {parameter.name!r} has no type annotation")
            continue
        text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
        value = _fake_value(parameter.name, text, scratch)
        if value is not None and (required or SECRET in str(value)):
            arguments[parameter.name] = value
        elif required:
            report.notes.append(f"not constructed: no harmless value for {parameter.name!r} ({text})")
            return None, external
    return arguments, external


def _points_outside(name: str, default: object) -> bool:
    """Whether a parameter names an endpoint or a path, or defaults to something that looks like one."""
    if _URL.search(name) or _HOST.search(name) or _PATH.search(name):
        return True
    values = default if isinstance(default, list | tuple | set | frozenset) else [default]
    return any(isinstance(value, os.PathLike) or isinstance(value, str) and _ENDPOINT_VALUE.search(value) for value in values)


def _fake_value(name: str, annotation: str, scratch: Path) -> Any:
    """An obviously fake but well-typed value, or None when there is no harmless one."""
    types = {part.strip() for part in re.split(r"[|\[\],]|Optional|Union", annotation)}
    if "str" in types or "Path" in types:
        if _URL.search(name):
            return f"https://user:{SECRET}@example.invalid/databay-check"
        if _PATH.search(name):
            return str(scratch / "databay-check.txt")
        return "example.invalid" if _HOST.search(name) else "databay-check"
    for type_name, value in (("bool", False), ("int", 1), ("float", 1.0), ("dict", {}), ("list", [])):
        if type_name in types:
            return value
    return None


def _construct(cls: type, arguments: dict[str, Any]) -> Any:
    """``cls(**arguments)``; when a node refuses the URL's scheme and names the one it wants
    (``must begin with 'mongodb://'``), once more with that scheme."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a deprecated alias, say: the check is about the contract
        try:
            return cls(**arguments)
        except ValueError as error:
            wanted = re.search(r"\b([a-z][a-z0-9+.-]*)://", str(error))
            if wanted is None or not any(SECRET in str(value) for value in arguments.values()):
                raise
            for key, value in arguments.items():
                if SECRET in str(value):
                    arguments[key] = re.sub(r"^[a-z][a-z0-9+.-]*://", f"{wanted.group(1)}://", value)
            return cls(**arguments)


def _check_repr(node: object, report: NodeReport) -> None:
    for show, describe in ((repr, "repr"), (str, "str")):
        try:
            text = show(node)
        except Exception as error:
            report.problems.append(f"{describe}() raises {type(error).__name__}: {error}")
            continue
        if SECRET in text:
            report.problems.append(f"{describe}() leaks a secret from its URL: {text}")


def _check_async(node: Node, report: NodeReport) -> None:
    method = node.pull if isinstance(node, Inlet) else node.push if isinstance(node, Outlet) else None
    if method is None:
        return
    coroutine = inspect.iscoroutinefunction(method)
    declared = getattr(node, "is_async", coroutine)
    if declared != coroutine:
        report.problems.append(
            f"is_async is {declared} but {method.__name__}() is {'a coroutine function' if coroutine else 'synchronous'}"
        )
    if coroutine and node.blocking:
        report.problems.append(f"declares blocking = True but {method.__name__}() is async (blocking is for sync nodes)")


def _check_lifecycle(node: Node, external: str | None, report: NodeReport, doing: list[str]) -> None:
    calls: list[Callable[[], None]] = [node.on_shutdown, node.on_shutdown]
    if external is None:
        calls = [node.on_start, node.on_shutdown, node.on_shutdown, node.on_start, node.on_shutdown]
    else:
        report.notes.append(f"on_start not called: it would use {external!r}")
    for number, call in enumerate(calls, 1):
        doing[0] = call.__name__
        try:
            call()
        except Exception as error:
            sequence = " → ".join(step.__name__ for step in calls[:number])
            report.problems.append(f"{sequence} raised {type(error).__name__}: {error} (must be safe to call twice)")
            return


def _show(arguments: dict[str, Any]) -> str:
    return "(" + ", ".join(f"{key}={value!r}" for key, value in arguments.items()) + ")"


def format_reports(reports: list[NodeReport]) -> str:
    """The text ``databay plugins --check`` prints: one line per node, OK or FAILED with each
    problem (and skipped check) beneath it, then a summary line."""
    if not reports:
        return "No registered node matched: nothing was checked."
    width = max(len(f"{report.kind} {report.name}") for report in reports)
    lines = []
    for report in reports:
        where = f"({report.plugin}, {report.distribution})" if report.distribution else f"({report.plugin})"
        lines.append(f"{f'{report.kind} {report.name}':<{width}}  {'OK' if report.ok else 'FAILED'}  {where}")
        lines += [f"    problem: {problem}" for problem in report.problems]
        lines += [f"    note: {note}" for note in report.notes]
    failed = sum(not report.ok for report in reports)
    lines.append(f"{len(reports)} node(s) checked, {failed} with problems.")
    return "\n".join(lines)


def exit_status(reports: list[NodeReport]) -> int:
    """0 when at least one node was checked and every one passed; 1 otherwise."""
    return 0 if reports and all(report.ok for report in reports) else 1
