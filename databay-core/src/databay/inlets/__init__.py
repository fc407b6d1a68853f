"""Inlets by name: core's built-ins, and any installed plugin's (``from databay.inlets import HttpInlet``)."""

from databay.inlets.file_inlet import FileInlet, FileInletMode
from databay.inlets.null_inlet import NullInlet
from databay.inlets.random_int_inlet import RandomIntInlet
from databay.plugins import resolve_attribute

__all__ = ["FileInlet", "FileInletMode", "NullInlet", "RandomIntInlet"]


def __getattr__(name: str) -> type:
    return resolve_attribute("inlet", name, __name__)
