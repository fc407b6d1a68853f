"""Outlets by name: core's built-ins, and any installed plugin's (``from databay.outlets import MongoOutlet``)."""

from databay.outlets.csv_outlet import CsvOutlet
from databay.outlets.file_outlet import FileOutlet
from databay.outlets.null_outlet import NullOutlet
from databay.outlets.print_outlet import PrintOutlet
from databay.plugins import resolve_attribute

__all__ = ["CsvOutlet", "FileOutlet", "NullOutlet", "PrintOutlet"]


def __getattr__(name: str) -> type:
    return resolve_attribute("outlet", name, __name__)
