"""The manual's module paths for nodes that now live in plugin distributions.

``databay/inlets/http_inlet.py`` and its siblings are one-line shims that make the plugin's
module answer to the old path, or fail with the command that installs it.
"""

from __future__ import annotations

import importlib
import sys

from databay.errors import NodeNotInstalledError

__all__ = ["alias_module"]


def alias_module(old_name: str, new_name: str, distribution: str, extra: str) -> None:
    """Make ``old_name`` the module ``new_name`` from ``distribution``, or explain how to install it."""
    try:
        module = importlib.import_module(new_name)
    except ModuleNotFoundError as error:
        if error.name != new_name.partition(".")[0]:
            raise
        raise NodeNotInstalledError(
            f"{old_name} lives in the {distribution} distribution, which is not installed. "
            f'Install it with: pip install "databay[{extra}]"',
            name=old_name,
        ) from None
    sys.modules[old_name] = module
