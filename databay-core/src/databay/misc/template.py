"""TesterTemplate: the base of databay's ready-made TestCases, which test runners must not collect themselves.

A template is run only through its subclasses: ``__test__ = False`` in a template's own body keeps
pytest from collecting it where it is imported, and every subclass of it is collected again unless
it sets ``__test__`` itself.
"""

from __future__ import annotations

import unittest
from typing import Any

__all__ = ["TesterTemplate"]


class TesterTemplate(unittest.TestCase):
    """Base of InletTester, OutletTester and PlannerTester."""

    __test__ = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__test__" not in cls.__dict__:
            cls.__test__ = True
