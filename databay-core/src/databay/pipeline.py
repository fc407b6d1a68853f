"""Declarative pipelines: a TOML file describing links by registered node names, and the planner
that schedules them (optional: `databay run --once` needs none).

Everything is validated before anything starts, and every problem is reported at once, each
naming where it is (link, node, key) and what to do about it. See ``databay init`` for a
starting point and the README for the format.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import os
import re
import sys
import tomllib
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from databay.base_planner import BasePlanner
from databay.delivery import Delivery
from databay.durations import parse_duration
from databay.errors import AmbiguousNodeError, NodeNotInstalledError
from databay.link import Link
from databay.plugins import NodeKind, UnknownNodeError, node_class, suggested_node
from databay.redaction import MASK, is_secret_name, redact_text
from databay.support.buffers import Buffer

__all__ = ["Pipeline", "PipelineError", "load_pipeline", "planner_hint"]

_LINK_OPTIONS = {"copy_records": bool, "ignore_exceptions": bool, "inlet_concurrency": int, "immediate_transfer": bool}
_LINK_KEYS = {"tags", "interval", "inlets", "outlets", "processors", "groupers", "buffer", "delivery", *_LINK_OPTIONS}
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class PipelineError(Exception):
    """A pipeline file has problems; ``problems`` lists each, ready to show a person."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: {len(problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass
class Pipeline:
    """A validated pipeline, built: the planner governing the links (None without a ``[planner]``
    table: such a pipeline runs with ``databay run --once``, which needs no planner)."""

    planner: BasePlanner | None
    links: list[Link]
    buffers: list[Buffer] = field(default_factory=list)


def planner_hint() -> str:
    """The ``[planner]`` table to add for scheduling, as TOML to paste: its two lines, then, as a
    comment on its own line, what to do first when no planner can be used here (enable or install one)."""
    name, advice = suggested_node("planner")
    table = f'[planner]\ntype = "{name}"'
    return table if advice is None else f"{table}\n# {advice}"


class _Builder:
    """Walks the parsed TOML, building objects and collecting problems instead of stopping at the first."""

    def __init__(self, path: Path):
        self.path = path
        self.delivery_defaults: Any = None  # the top-level [delivery] table
        self.problems: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    # -- values ------------------------------------------------------------------------

    def expand(self, value: Any, where: str) -> Any:
        """Replace ``${VAR}`` / ``${VAR:-default}`` in strings, recursively."""
        if isinstance(value, str):

            def substitute(match: re.Match[str]) -> str:
                name, default = match.group(1), match.group(2)
                if name in os.environ:
                    return os.environ[name]
                if default is not None:
                    return default
                self.problem(where, f"environment variable {name} is not set (referenced as ${{{name}}})")
                return match.group(0)

            return _ENV_REFERENCE.sub(substitute, value)
        if isinstance(value, dict):
            return {key: self.expand(item, f"{where}.{key}") for key, item in value.items()}
        if isinstance(value, list):
            return [self.expand(item, f"{where}[{index}]") for index, item in enumerate(value)]
        return value

    def callable_ref(self, reference: Any, where: str) -> Callable[..., Any] | None:
        """Resolve ``"module:callable"``; the pipeline's folder is importable for local modules."""
        if not isinstance(reference, str) or reference.count(":") != 1:
            self.problem(where, f"{reference!r} is not a 'module:callable' reference")
            return None
        module_name, attribute = reference.split(":")
        folder = str(self.path.parent.resolve())
        if folder not in sys.path:
            sys.path.insert(0, folder)
        try:
            module = importlib.import_module(module_name)
        except Exception as error:
            self.problem(where, f"cannot import module {module_name!r} of {reference!r}: {type(error).__name__}: {error}")
            return None
        target = module
        for part in attribute.split("."):
            if not hasattr(target, part):
                self.problem(where, f"module {module_name!r} has no attribute {attribute!r} (from {reference!r})")
                return None
            target = getattr(target, part)
        if not callable(target):
            self.problem(where, f"{reference!r} is not callable")
            return None
        return target

    def callables(self, value: Any, where: str) -> list[Callable[..., Any]]:
        references = value if isinstance(value, list) else [value]
        resolved = [self.callable_ref(reference, f"{where}[{index}]") for index, reference in enumerate(references)]
        return [fn for fn in resolved if fn is not None]

    def duration(self, value: Any, where: str) -> float | None:
        try:
            return parse_duration(value).total_seconds()
        except ValueError as error:
            self.problem(where, str(error))
            return None

    # -- nodes -------------------------------------------------------------------------

    def node(self, kind: NodeKind, table: Any, where: str) -> Any:
        """Build one inlet/outlet/planner from ``{type = "Name", ...arguments}``."""
        if not isinstance(table, dict):
            self.problem(where, f"expected a table with a 'type' key naming the {kind}, got {table!r}")
            return None
        arguments = dict(table)
        name = arguments.pop("type", None)
        if name is None:
            self.problem(where, f"missing 'type': the registered name of the {kind} (`databay plugins --all` lists them)")
            return None
        try:
            cls = node_class(kind, name)
        except (UnknownNodeError, NodeNotInstalledError, AmbiguousNodeError) as error:
            self.problem(where, str(error))
            return None
        where = f"{where} ({name})"
        if kind == "outlet" and "processors" in arguments:
            arguments["processors"] = self.callables(arguments["processors"], f"{where}.processors")
        if not self.arguments_fit(cls, arguments, where):
            return None
        try:
            return cls(**arguments)
        except Exception as error:
            self.problem(where, f"{name}({_describe(arguments)}) failed: {type(error).__name__}: {error}")
            return None

    def arguments_fit(self, cls: type, arguments: dict[str, Any], where: str) -> bool:
        """Check keys against the class's constructor signature, and values against simple types."""
        signature = _signature(cls)
        parameters = {
            name: parameter
            for name, parameter in signature.parameters.items()
            if parameter.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        }
        takes_any_key = any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in signature.parameters.values())
        fits = True
        for key, value in arguments.items():
            parameter = parameters.get(key)
            if parameter is None:
                if takes_any_key:
                    continue
                close = difflib.get_close_matches(key, list(parameters), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                accepted = ", ".join(parameters) or "none"
                self.problem(where, f"unknown argument {key!r}{hint}; {cls.__name__} accepts: {accepted}")
                fits = False
                continue
            expected = _expected_type(parameter)
            if expected is not None and not _is_instance(value, expected):
                self.problem(
                    where, f"{key!r} must be {expected.__name__}, got {type(value).__name__} {_shown(key, value)}"
                )
                fits = False
        for key, parameter in parameters.items():
            if parameter.default is inspect.Parameter.empty and key not in arguments:
                self.problem(where, f"missing required argument {key!r}")
                fits = False
        return fits

    # -- links -------------------------------------------------------------------------

    def link(self, table: Any, index: int) -> tuple[Link | None, Buffer | None]:
        if not isinstance(table, dict):
            self.problem(f"links[{index}]", "expected a table ([[links]])")
            return None, None
        tags = table.get("tags", [])
        tags = [tags] if isinstance(tags, str) else tags
        where = f"link {'.'.join(tags)!r} (links[{index}])" if tags else f"links[{index}]"
        for key in table:
            if key not in _LINK_KEYS:
                close = difflib.get_close_matches(key, sorted(_LINK_KEYS), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.problem(where, f"unknown key {key!r}{hint}; a link accepts: {', '.join(sorted(_LINK_KEYS))}")
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            self.problem(f"{where}.tags", f"must be a string or a list of strings, got {tags!r}")
        interval = None
        if "interval" not in table:
            self.problem(where, "missing 'interval' (seconds, or a duration such as \"5s\", \"2m\", \"1h\")")
        else:
            interval = self.duration(table["interval"], f"{where}.interval")
        inlets = self.nodes("inlet", table.get("inlets", []), f"{where}.inlets")
        outlets = self.nodes("outlet", table.get("outlets", []), f"{where}.outlets")
        if "outlets" not in table:
            self.problem(where, "no outlets: add at least one [[links.outlets]] table")
        processors = self.callables(table["processors"], f"{where}.processors") if "processors" in table else []
        groupers = self.callables(table["groupers"], f"{where}.groupers") if "groupers" in table else []
        buffer = self.buffer(table["buffer"], f"{where}.buffer") if "buffer" in table else None
        options: dict[str, Any] = {}
        if "delivery" in table or self.delivery_defaults is not None:
            options["delivery"] = self.delivery(table.get("delivery", {}), f"{where}.delivery")
        for key, expected in _LINK_OPTIONS.items():
            if key in table:
                if _is_instance(table[key], expected):
                    options[key] = table[key]
                else:
                    self.problem(f"{where}.{key}", f"must be {expected.__name__}, got {table[key]!r}")
        if interval is None or None in inlets or None in outlets or self.problems:
            return None, buffer
        try:
            link = Link(
                inlets, outlets, interval, tags=tags, processors=processors + ([buffer] if buffer else []),
                groupers=groupers, **options,
            )
        except Exception as error:
            self.problem(where, f"{type(error).__name__}: {error}")
            return None, buffer
        return link, buffer

    def nodes(self, kind: NodeKind, tables: Any, where: str) -> list[Any]:
        if not isinstance(tables, list):
            self.problem(where, f"expected a list of tables ([[...{kind}s]]), got {tables!r}")
            return [None]
        return [self.node(kind, table, f"{where}[{index}]") for index, table in enumerate(tables)]

    def delivery(self, table: Any, where: str) -> Delivery | None:
        """A link's Delivery: the top-level [delivery] defaults, overridden by its own table."""
        defaults = self.delivery_defaults if isinstance(self.delivery_defaults, dict) else {}
        if not isinstance(table, dict):
            self.problem(where, f"expected a table of Delivery arguments, got {table!r}")
            return None
        arguments = {**defaults, **table}
        if "backoff" in arguments:
            backoff = arguments["backoff"]
            if not isinstance(backoff, list) or len(backoff) != 2:
                self.problem(f"{where}.backoff", f'must be [first, max], e.g. ["500ms", "30s"], got {backoff!r}')
                return None
            seconds = [self.duration(value, f"{where}.backoff") for value in backoff]
            if None in seconds:
                return None
            arguments["backoff"] = tuple(seconds)
        if "state_dir" in arguments:  # relative to the pipeline file, wherever databay runs from
            arguments["state_dir"] = str(self.path.parent / str(arguments["state_dir"]))
        if "dead_letter" in arguments:
            arguments["dead_letter"] = self.node("outlet", arguments["dead_letter"], f"{where}.dead_letter")
            if arguments["dead_letter"] is None:
                return None
        if not self.arguments_fit(Delivery, arguments, where):
            return None
        try:
            return Delivery(**arguments)
        except ValueError as error:
            self.problem(where, str(error))
            return None

    def buffer(self, table: Any, where: str) -> Buffer | None:
        if not isinstance(table, dict):
            self.problem(where, f"expected a table of Buffer arguments, got {table!r}")
            return None
        arguments = dict(table)
        if "time_threshold" in arguments:
            seconds = self.duration(arguments.pop("time_threshold"), f"{where}.time_threshold")
            if seconds is not None:
                arguments["time_threshold"] = seconds
        for key in ("custom_controllers", "on_reset"):
            if key in arguments:
                resolved = self.callables(arguments[key], f"{where}.{key}")
                arguments[key] = resolved if key == "custom_controllers" else (resolved[0] if resolved else None)
        if not self.arguments_fit(Buffer, arguments, where):
            return None
        return Buffer(**arguments)


def _signature(cls: type) -> inspect.Signature:
    """The constructor's signature, with its annotations evaluated when they can be."""
    try:
        return inspect.signature(cls, eval_str=True)
    except (NameError, AttributeError, TypeError):  # e.g. a name imported only for type checkers
        return inspect.signature(cls)


_SIMPLE = (bool, int, float, str, list, dict)


def _expected_type(parameter: inspect.Parameter) -> type | None:
    """A simple type to check a value against, from the annotation or else the default, when there is one."""
    annotation = parameter.annotation
    if annotation is not inspect.Parameter.empty and not isinstance(annotation, str):
        options = [annotation]
        if typing.get_origin(annotation) in (typing.Union, types.UnionType):
            options = [option for option in typing.get_args(annotation) if option is not type(None)]
        simple = [typing.get_origin(option) or option for option in options]
        return simple[0] if len(simple) == 1 and simple[0] in _SIMPLE else None
    default = parameter.default
    if default is not inspect.Parameter.empty and default is not None and type(default) in _SIMPLE:
        return type(default)
    return None


def _is_instance(value: Any, expected: type) -> bool:
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def _shown(key: str, value: Any) -> str:
    """A value as an error message may show it: never one whose name looks secret, nor a URL's secrets."""
    return MASK if is_secret_name(key) else redact_text(repr(value))


def _describe(arguments: dict[str, Any]) -> str:
    return ", ".join(f"{key}=…" for key in arguments)


def load_pipeline(path: str | os.PathLike[str]) -> Pipeline:
    """Read, validate and build a pipeline file.

    :raises PipelineError: with every problem found, when there is any.
    """
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PipelineError(path, [f"cannot read the file: {error.strerror}"]) from None
    except tomllib.TOMLDecodeError as error:
        raise PipelineError(path, [f"not valid TOML: {error}"]) from None
    builder = _Builder(path)
    document = builder.expand(document, "pipeline")
    builder.delivery_defaults = document.get("delivery")
    if "delivery" in document and not isinstance(document["delivery"], dict):
        builder.problem("delivery", f"expected a [delivery] table of defaults for every link, got {document['delivery']!r}")
    for key in document:
        if key not in ("planner", "links", "delivery"):
            builder.problem(
                "pipeline", f"unknown top-level key {key!r}; a pipeline has [planner], [[links]] and [delivery]"
            )
    links_and_buffers = [builder.link(table, index) for index, table in enumerate(document.get("links", []))]
    if not document.get("links"):
        builder.problem("pipeline", "no links: add at least one [[links]] table")
    planner = builder.node("planner", document["planner"], "planner") if "planner" in document else None
    if builder.problems:
        raise PipelineError(path, builder.problems)
    # Without problems, every link was built: link() returns None only with one.
    links = [link for link, _ in links_and_buffers if link is not None]
    if planner is not None:
        try:
            planner.add_links(links)
        except Exception as error:
            raise PipelineError(path, [f"planner ({type(planner).__name__}): {type(error).__name__}: {error}"]) from None
    return Pipeline(planner, links, [buffer for _, buffer in links_and_buffers if buffer is not None])
