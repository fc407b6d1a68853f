"""Fails on import, like a plugin whose dependency is missing."""

import databay_dependency_that_does_not_exist  # noqa: F401
