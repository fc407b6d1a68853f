"""databay 0.3's module paths for nodes that now live in plugin distributions.

``databay/inlets/http_inlet.py`` and its siblings are one-line shims: the old path answers with
the plugin's module, or fails with the command that installs it (both from ``PROVIDERS``).
"""

from __future__ import annotations

import importlib
import sys

from databay.plugins import PROVIDERS

__all__ = ["alias_module"]


def alias_module(old_name: str, node_name: str) -> None:
    """Make ``old_name`` the module defining the first-party node ``node_name``, or explain how to install it."""
    provider = PROVIDERS[node_name]
    try:
        module = importlib.import_module(provider.module)
    except ModuleNotFoundError as error:
        if error.name != provider.module.partition(".")[0]:
            raise
        raise provider.not_installed(node_name) from None
    sys.modules[old_name] = module
