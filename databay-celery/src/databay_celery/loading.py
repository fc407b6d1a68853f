"""What ``databay celery`` commands run: a pipeline file whose planner is a CeleryPlanner, or
a ``module:callable`` returning a CeleryPlanner (or links, with ``--broker-url``)."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from databay.link import Link
from databay.pipeline import load_pipeline
from databay_celery.planner import CeleryPlanner

__all__ = ["TargetError", "load_target"]


class TargetError(Exception):
    """The target names no CeleryPlanner; the message says what to do."""


def load_target(target: str, broker_url: str | None = None) -> CeleryPlanner:
    """The CeleryPlanner described by ``target``. :raises TargetError: or the pipeline's PipelineError."""
    if target.endswith(".toml") or Path(target).is_file():
        pipeline = load_pipeline(target)
        if not isinstance(pipeline.planner, CeleryPlanner):
            raise TargetError(f'{target}: its [planner] must be type = "CeleryPlanner", got {pipeline.planner!r}')
        return pipeline.planner
    if target.count(":") != 1:
        raise TargetError(f"{target!r} is neither a pipeline file (.toml) nor a 'module:callable'")
    module_name, attribute = target.split(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        made = getattr(importlib.import_module(module_name), attribute)()
    except Exception as error:
        raise TargetError(f"{target}: {type(error).__name__}: {error}") from None
    if isinstance(made, CeleryPlanner):
        return made
    links = [made] if isinstance(made, Link) else made
    if not isinstance(links, (list, tuple)) or not all(isinstance(link, Link) for link in links):
        raise TargetError(f"{target} must return a CeleryPlanner, a Link or a list of Links; got {made!r}")
    if broker_url is None:
        raise TargetError(f"{target} returned links: give the cluster's --broker-url (or return a CeleryPlanner)")
    return CeleryPlanner(list(links), broker_url=broker_url)
