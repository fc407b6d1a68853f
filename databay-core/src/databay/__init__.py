"""databay: scheduled data transfer. Inlets produce records, outlets consume them, links move
them on an interval, planners run the links.

Plugin distributions add nodes through the ``databay`` entry-point group; see
:mod:`databay.hookspecs` and ``databay plugins``.
"""

from importlib.metadata import version as _version

from databay.base_planner import BasePlanner
from databay.delivery import Delivery, RejectedRecords
from databay.hookspecs import hookimpl
from databay.inlet import Inlet
from databay.link import Link
from databay.logs import install_default_handler
from databay.outlet import MetadataKey, Outlet
from databay.record import Record
from databay.update import Update

__version__ = _version("databay")

__all__ = [
    "BasePlanner",
    "Delivery",
    "Inlet",
    "Link",
    "MetadataKey",
    "Outlet",
    "Record",
    "RejectedRecords",
    "Update",
    "hookimpl",
    "__version__",
]

install_default_handler()
