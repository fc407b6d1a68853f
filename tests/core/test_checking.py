"""The node contract checker (databay.checking, behind `databay plugins --check`): it passes
every first-party node and names each way a node breaks the contract."""

from __future__ import annotations

import inspect
import threading
from pathlib import Path

import pytest

from databay import Inlet, Outlet, plugins
from databay.checking import NodeReport, check_node, check_nodes, exit_status, format_reports
from databay.plugins.registry import NodeEntry, PluginInfo, Registry

REPO = Path(__file__).resolve().parents[2]


def first_party(report: NodeReport) -> bool:
    """Core's nodes, and those of the distributions in this repository's folders."""
    return report.distribution == "databay" or (REPO / report.distribution).is_dir()


def test_every_installed_first_party_node_passes():
    reports = [report for report in check_nodes() if first_party(report)]
    assert {"NullInlet", "FileInlet", "CsvOutlet", "PrintOutlet"} <= {report.name for report in reports}
    assert all(report.ok for report in reports), format_reports([r for r in reports if not r.ok])
    assert exit_status(reports) == 0


def test_name_selects_a_node_or_a_plugin():
    assert [report.name for report in check_nodes("FileInlet")] == ["FileInlet"]
    assert {report.name for report in check_nodes("databay")} >= {"NullInlet", "NullOutlet", "CsvOutlet"}
    assert check_nodes("no-such-node-or-plugin") == []


class Leaky(Inlet):
    def __init__(self, endpoint_url: str):
        super().__init__()
        self.endpoint_url = endpoint_url

    def pull(self, update):
        return []

    def __repr__(self):
        return f"Leaky({self.endpoint_url})"


class BlockingAsync(Outlet):
    blocking = True

    async def push(self, records, update):
        pass


class LyingAboutAsync(Inlet):
    @property
    def is_async(self):
        return True

    def pull(self, update):
        return []


class ClosesTwice(Outlet):
    def __init__(self):
        super().__init__()
        self.handle: list | None = None

    def on_start(self):
        self.handle = []

    def push(self, records, update):
        pass

    def on_shutdown(self):
        self.handle.clear()
        self.handle = None


class Untyped(Inlet):
    def __init__(self, source):
        super().__init__()

    def pull(self, update):
        return []


class RefusesOnConstruction(Inlet):
    def __init__(self, count: int):
        raise RuntimeError("no")

    def pull(self, update):
        return []


class WantsItsOwnScheme(Inlet):
    """Refuses https and names the scheme it wants, as MongoOutlet does; its repr redacts."""

    def __init__(self, uri: str | None = None):
        super().__init__()
        if uri is not None and not uri.startswith("store://"):
            raise ValueError("uri must begin with 'store://'")
        self.uri = uri

    def pull(self, update):
        return []

    def __repr__(self):
        return "WantsItsOwnScheme(store://***@...)"


@pytest.mark.parametrize(
    ("cls", "problem"),
    [
        (Leaky, "repr() leaks a secret from its URL: Leaky(https://user:s3cret@"),
        (BlockingAsync, "declares blocking = True but push() is async"),
        (LyingAboutAsync, "is_async is True but pull() is synchronous"),
        (ClosesTwice, "on_start → on_shutdown → on_shutdown raised AttributeError"),
        (Untyped, "required parameter 'source' has no type annotation"),
        (RefusesOnConstruction, "cannot be constructed from keyword arguments (count=1): RuntimeError: no"),
    ],
)
def test_each_problem_is_named(cls, problem):
    report = check_node("inlet", cls.__name__, cls)
    assert not report.ok and any(found.startswith(problem) for found in report.problems), report.problems
    assert exit_status([report]) == 1
    assert "FAILED" in format_reports([report]) and problem in format_reports([report])


def test_a_node_naming_its_url_scheme_is_checked_with_it():
    report = check_node("inlet", "WantsItsOwnScheme", WantsItsOwnScheme)
    assert report.ok, report.problems
    assert report.notes == ["on_start not called: it would use 'uri'"]


def test_report_layout():
    reports = [check_node("inlet", "Leaky", Leaky, "sloppy", "databay-sloppy"), check_node("outlet", "BlockingAsync", BlockingAsync)]
    lines = format_reports(reports).splitlines()
    assert lines[0].split()[:4] == ["inlet", "Leaky", "FAILED", "(sloppy,"]
    assert lines[-1] == "2 node(s) checked, 2 with problems."
    assert format_reports([]) == "No registered node matched: nothing was checked." and exit_status([]) == 1


def test_clashing_nodes_are_reported_and_selected_by_qualified_name(monkeypatch):
    """Two plugins registering one name: each node is shown as entrypoint:Name, which --check accepts."""
    registry = Registry()
    twins = {name: type("Twin", (Inlet,), {"pull": lambda self, update: []}) for name in ("a", "b")}
    for name, cls in twins.items():
        registry.plugins[name] = PluginInfo(name, f"dist-{name}", "1")
        registry.add(NodeEntry("Twin", "inlet", cls, registry.plugins[name]))
    monkeypatch.setattr(plugins, "nodes", registry.visible)
    assert [report.name for report in check_nodes()] == ["a:Twin", "b:Twin"]
    assert [(report.name, report.plugin) for report in check_nodes("b:Twin")] == [("b:Twin", "b")]
    assert [report.name for report in check_nodes("Twin")] == ["a:Twin", "b:Twin"]
    assert [report.name for report in check_nodes("a")] == ["a:Twin"]
    lines = format_reports(check_nodes()).splitlines()
    assert [line.split()[:3] for line in lines[:2]] == [["inlet", "a:Twin", "OK"], ["inlet", "b:Twin", "OK"]]


def _connecting(parameter: str, default: object) -> type:
    """A node taking ``parameter`` (with ``default``), whose on_start would connect to it."""

    class Connecting(Inlet):
        __signature__ = inspect.Signature(
            [inspect.Parameter(parameter, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=str)]
        )

        def __init__(self, **kwargs):
            super().__init__()

        def pull(self, update):
            return []

        def on_start(self):
            raise ConnectionRefusedError(f"on_start connected to {default!r}")

    return Connecting


@pytest.mark.parametrize(
    ("parameter", "default"),
    [
        ("bootstrap_servers", "kafka.example:9092"),
        ("hosts", None),
        ("brokers", None),
        ("servers", None),
        ("dsn", None),
        ("connection", None),
        ("target", "redis://localhost:6379/0"),   # a built-in default endpoint, under any name
        ("peer", "localhost:5672"),
        ("seeds", ["10.0.0.7:9042"]),
    ],
)
def test_a_node_that_would_connect_is_not_started(parameter, default):
    report = check_node("inlet", "Connecting", _connecting(parameter, default))
    assert report.ok, report.problems
    assert report.notes == [f"on_start not called: it would use {parameter!r}"]


class HangsOnStart(Outlet):
    """Connects somewhere its signature does not say, and waits: the check must not wait with it."""

    release = threading.Event()

    def push(self, records, update):
        pass

    def on_start(self):
        self.release.wait(30)


def test_a_lifecycle_check_that_does_not_return_is_reported_not_waited_for():
    try:
        report = check_node("outlet", "HangsOnStart", HangsOnStart, timeout=0.2)
    finally:
        HangsOnStart.release.set()
    assert report.problems == ["on_start did not return within 0.2 s: it may be waiting on a connection"]
    assert "FAILED" in format_reports([report])
