"""InletTester: a ready-made ``unittest.TestCase`` that checks an Inlet implementation.

Subclass it and implement :meth:`InletTester.get_inlet` (returning one inlet or a list)::

    class RandomIntInletTest(InletTester):
        def get_inlet(self):
            return [RandomIntInlet(), RandomIntInlet(min=10, max=200)]
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from databay.inlet import Inlet
from databay.link import Link
from databay.misc.template import TesterTemplate
from databay.outlet import Outlet
from databay.record import Record

__all__ = ["InletTester", "for_each_inlet"]

T = TypeVar("T", bound="InletTester")
P = ParamSpec("P")


def for_each_inlet(fn: Callable[Concatenate[T, P], None]) -> Callable[Concatenate[T, P], None]:
    """Runs the test for each inlet returned from :meth:`InletTester.get_inlet`, as subtests."""

    @functools.wraps(fn)
    def wrapper(tester: T, /, *args: P.args, **kwargs: P.kwargs) -> None:
        for inlet in tester.inlets:
            tester.inlet = inlet
            with tester.subTest(inlet=repr(inlet)):
                fn(tester, *args, **kwargs)

    return wrapper


class _WatchedMetadata(dict[str, Any]):
    """Global metadata that notices an inlet reading it (inlets must only pass it on)."""

    reads: list[Any]

    def __getitem__(self, key: Any) -> Any:
        self.reads.append(key)
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        self.reads.append(key)
        return super().get(key, default)


class _Collect(Outlet):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[Record] = []

    def push(self, records: list[Record], update: Any) -> None:
        self.records.extend(records)


class InletTester(TesterTemplate):
    """Checks records, global and local metadata, and pulling, for the inlets of :meth:`get_inlet`."""

    __test__ = False  # a template: its subclasses are collected (TesterTemplate)

    gmetadata = {"InletTester.global": "global"}

    def get_inlet(self) -> Inlet | list[Inlet]:
        """Implement this method to return instances of your inlet class."""
        raise NotImplementedError("Implement get_inlet() to return your inlet (or a list of them)")

    def setUp(self) -> None:
        if type(self) is InletTester:
            self.skipTest("InletTester is a template: subclass it and implement get_inlet()")
        inlets = self.get_inlet()
        self.inlets: list[Inlet] = inlets if isinstance(inlets, list) else [inlets]
        for inlet in self.inlets:
            watched = _WatchedMetadata({**inlet._metadata, **self.gmetadata})
            watched.reads = []
            inlet._metadata = watched
        self.inlet = self.inlets[0]

    def pull(self, inlet: Inlet) -> list[Record]:
        """Records from one real transfer of ``inlet`` (started and shut down around it)."""
        collect = _Collect()
        inlet.try_start()
        try:
            Link(inlet, collect, interval=1, copy_records=False).transfer()
        finally:
            inlet.try_shutdown()
        return collect.records

    @for_each_inlet
    def test_new_record(self) -> None:
        """Creating new records keeps the payload and adds local and global metadata."""
        payload = {"test": 123}
        metadata = {"InletTester.local": 321}
        record = self.inlet.new_record(payload=payload, metadata=metadata)
        self.assertIsInstance(record, Record)
        self.assertEqual(record.payload, payload)
        self.assertLessEqual(metadata.items(), record.metadata.items(), "local metadata missing")
        self.assertLessEqual(self.gmetadata.items(), record.metadata.items(), "global metadata missing")
        self.assertIn("__inlet__", record.metadata)

    @for_each_inlet
    def test_new_record_override_global(self) -> None:
        """Local metadata overrides global metadata, without changing the inlet's own."""
        metadata = {"InletTester.global": "local"}
        record = self.inlet.new_record(payload={"test": 123}, metadata=metadata)
        self.assertEqual(record.metadata["InletTester.global"], "local")
        self.assertEqual(self.inlet.metadata["InletTester.global"], "global", "inlet metadata was modified")

    @for_each_inlet
    def test_dont_read_metadata(self) -> None:
        """The inlet passes global metadata on without reading it to configure itself."""
        records = self.pull(self.inlet)
        watched = self.inlet._metadata
        assert isinstance(watched, _WatchedMetadata)  # setUp gave each inlet one
        self.assertEqual(watched.reads, [], "the inlet read its global metadata")
        for record in records:
            self.assertLessEqual(self.gmetadata.items(), record.metadata.items(), "global metadata lost")

    @for_each_inlet
    def test_pull(self) -> None:
        """Pulling yields records with a payload, carrying the global metadata."""
        records = self.pull(self.inlet)
        self.assertIsInstance(records, list)
        for record in records:
            self.assertIsInstance(record, Record)
            self.assertIsNotNone(record.payload)
            self.assertLessEqual(self.gmetadata.items(), record.metadata.items(), "global metadata lost")
            self.assertEqual(record.metadata.get("__inlet__"), repr(self.inlet))
