"""CsvOutlet: writes dict payloads as CSV rows, with a header in each new or emptied file."""

from __future__ import annotations

import csv
import logging
from typing import Any, Union

from databay.outlet import MetadataKey, Outlet, Processor
from databay.outlets.file_targets import FileTarget, write_in_turn
from databay.record import Record

__all__ = ["CsvOutlet"]

_LOGGER = logging.getLogger("databay.CsvOutlet")


class CsvOutlet(Outlet):
    """Writes each record's dict payload as a CSV row; a new file's header is its first row's keys.

    A record that cannot be written (not a dict, or keys or values ``csv`` cannot write in UTF-8) is
    rejected on its own: the others are written, then :class:`~databay.delivery.RejectedRecords`
    names it (a link with a Delivery dead-letters it).

    :param default_filepath: csv file for records without ``CsvOutlet.CSV_FILE`` metadata.
    :param default_file_mode: open mode for records without ``CsvOutlet.FILE_MODE``.
    :param processors: processors of this outlet, as for any :class:`~databay.outlet.Outlet`.
    """

    CSV_FILE: MetadataKey = MetadataKey("CsvOutlet.CSV_FILE")
    """Filepath of the csv file to write records to."""
    FILE_MODE: MetadataKey = MetadataKey("CsvOutlet.FILE_MODE")
    """Write mode to use when writing into the csv file."""

    def __init__(
        self,
        default_filepath: str,
        default_file_mode: str = "a",
        processors: Union[Processor, list[Processor], None] = None,
    ):
        super().__init__(processors)
        self.default_filepath = default_filepath
        self.default_file_mode = default_file_mode

    def _target(self, record: Record) -> FileTarget:
        return (
            record.metadata_get(self.CSV_FILE, self.default_filepath),
            record.metadata_get(self.FILE_MODE, self.default_file_mode),
            "utf-8",
        )

    def push(self, records: list[Record], update: Any) -> None:
        """Write each record as a row of its own keys' values, as databay 0.3 did.

        The header (the record's keys) goes first into an empty file, and every time a ``'w'`` mode
        reopens it; records whose keys differ from the header are written as they are.

        :raises RejectedRecords: after writing the others, for the records that are not dicts or
            whose keys or values cannot be written as CSV.
        """
        rows = _Rows(self)
        for path, count in write_in_turn(records, self._target, rows.values, newline="", header=rows.keys):
            _LOGGER.debug("%s wrote %d rows to %s", update, count, path)

    def __repr__(self) -> str:
        return f"CsvOutlet(default_filepath:{self.default_filepath})"


class _Rows:
    """Renders records as the lines ``csv.writer`` writes for them into a file opened with
    ``newline=""``."""

    def __init__(self, outlet: CsvOutlet) -> None:
        self._outlet = outlet
        self._line = ""
        self._writer = csv.writer(self)  # writerow writes each line with one call to write

    def write(self, line: str) -> None:
        self._line = line

    def keys(self, record: Record) -> str:
        self._writer.writerow(self._payload(record).keys())
        return self._line

    def values(self, record: Record) -> str:
        self._writer.writerow(self._payload(record).values())
        return self._line

    def _payload(self, record: Record) -> dict[Any, Any]:
        payload = record.payload
        if not isinstance(payload, dict):
            raise TypeError(f"{self._outlet!r} writes dict payloads as rows, got {type(payload).__name__}: {record!r}")
        return payload
