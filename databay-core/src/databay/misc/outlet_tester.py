"""OutletTester: a ready-made ``unittest.TestCase`` that checks an Outlet implementation.

Subclass it and implement :meth:`OutletTester.get_outlet` (one outlet or a list); override
:meth:`OutletTester.get_records` when your outlet expects particular payloads, and
:meth:`OutletTester.written` to let the tester check what actually arrived.
"""

from __future__ import annotations

import asyncio
import copy
import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from databay.inlet import Inlet
from databay.link import Link
from databay.misc.template import TesterTemplate
from databay.outlet import Outlet
from databay.record import Record
from databay.update import Update

__all__ = ["OutletTester", "for_each_outlet"]

T = TypeVar("T", bound="OutletTester")
P = ParamSpec("P")


def for_each_outlet(fn: Callable[Concatenate[T, P], None]) -> Callable[Concatenate[T, P], None]:
    """Runs the test for each outlet returned from :meth:`OutletTester.get_outlet`, as subtests."""

    @functools.wraps(fn)
    def wrapper(tester: T, /, *args: P.args, **kwargs: P.kwargs) -> None:
        for outlet in tester.outlets:
            tester.outlet = outlet
            with tester.subTest(outlet=repr(outlet)):
                fn(tester, *args, **kwargs)

    return wrapper


class _Replay(Inlet):
    def __init__(self, records: list[Record]):
        super().__init__()
        self.records = records

    def pull(self, update: Any) -> list[Record]:
        return self.records


class OutletTester(TesterTemplate):
    """Checks pushing, empty pushes, start/shutdown, and that pushing never modifies records."""

    __test__ = False  # a template: its subclasses are collected (TesterTemplate)

    def get_outlet(self) -> Outlet | list[Outlet]:
        """Implement this method to return instances of your outlet class."""
        raise NotImplementedError("Implement get_outlet() to return your outlet (or a list of them)")

    def get_records(self) -> list[Record]:
        """Records to push; override when your outlet expects particular payloads or metadata."""
        return [Record({"id": index, "value": f"v{index}"}, {"OutletTester.meta": index}) for index in range(3)]

    def written(self, outlet: Outlet) -> list[Any] | None:
        """Override to return the payloads ``outlet`` has stored, so pushes are verified end to end."""
        return None

    def setUp(self) -> None:
        if type(self) is OutletTester:
            self.skipTest("OutletTester is a template: subclass it and implement get_outlet()")
        outlets = self.get_outlet()
        self.outlets: list[Outlet] = outlets if isinstance(outlets, list) else [outlets]
        self.outlet = self.outlets[0]

    def transfer(self, outlet: Outlet, records: list[Record]) -> None:
        """Push ``records`` to ``outlet`` through one real transfer, started and shut down around it."""
        outlet.try_start()
        try:
            Link(_Replay(records), outlet, interval=1, copy_records=False).transfer()
        finally:
            outlet.try_shutdown()

    @for_each_outlet
    def test_push(self) -> None:
        """Pushed records arrive (when :meth:`written` tells what arrived)."""
        records = self.get_records()
        before = self.written(self.outlet)
        self.transfer(self.outlet, records)
        after = self.written(self.outlet)
        if before is not None and after is not None:
            for record in records:
                self.assertIn(record.payload, after, "a pushed record was not written")

    @for_each_outlet
    def test_push_empty(self) -> None:
        """An empty batch is accepted."""
        self.transfer(self.outlet, [])

    @for_each_outlet
    def test_push_does_not_modify_records(self) -> None:
        """Pushing leaves payloads and metadata as they were (other outlets may share them)."""
        records = self.get_records()
        expected = [(copy.deepcopy(r.payload), copy.deepcopy(r.metadata)) for r in records]
        self.transfer(self.outlet, records)
        self.assertEqual([(r.payload, r.metadata) for r in records], expected)

    @for_each_outlet
    def test_start_shutdown(self) -> None:
        """on_start and on_shutdown toggle ``active`` and can run again after a shutdown."""
        for _ in range(2):
            self.outlet.try_start()
            self.assertTrue(self.outlet.active)
            self.outlet.try_shutdown()
            self.assertFalse(self.outlet.active)

    @for_each_outlet
    def test_push_direct(self) -> None:
        """push() can also be called directly with an Update, sync or async."""
        self.outlet.try_start()
        try:
            result = self.outlet.push(self.get_records(), Update(["OutletTester"], 0))
            if self.outlet.is_async:
                asyncio.run(result)
        finally:
            self.outlet.try_shutdown()
