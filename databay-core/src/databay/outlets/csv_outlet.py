"""CsvOutlet: writes dict payloads as CSV rows, with the header once per file."""

from __future__ import annotations

import csv
import logging
from typing import Any

from databay.outlet import MetadataKey, Outlet
from databay.outlets.file_targets import FileTarget, open_targets
from databay.record import Record

__all__ = ["CsvOutlet"]

_LOGGER = logging.getLogger("databay.CsvOutlet")


class CsvOutlet(Outlet):
    """Writes each record's dict payload as a CSV row; the header is the first row's keys.

    :param default_filepath: csv file for records without ``CsvOutlet.CSV_FILE`` metadata.
    :param default_file_mode: open mode for records without ``CsvOutlet.FILE_MODE``.
    """

    CSV_FILE: MetadataKey = MetadataKey("CsvOutlet.CSV_FILE")
    """Filepath of the csv file to write records to."""
    FILE_MODE: MetadataKey = MetadataKey("CsvOutlet.FILE_MODE")
    """Write mode to use when writing into the csv file."""

    def __init__(self, default_filepath: str, default_file_mode: str = "a", *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.default_filepath = default_filepath
        self.default_file_mode = default_file_mode

    def _target(self, record: Record) -> FileTarget:
        if not isinstance(record.payload, dict):
            raise TypeError(f"{self!r} writes dict payloads as rows, got {type(record.payload).__name__}: {record!r}")
        return (
            record.metadata_get(self.CSV_FILE, self.default_filepath),
            record.metadata_get(self.FILE_MODE, self.default_file_mode),
            "utf-8",
        )

    def push(self, records: list[Record], update: Any) -> None:
        """Write the records as rows; a new or emptied file gets the header first."""
        for file, is_empty, group in open_targets(records, self._target):
            writer = csv.DictWriter(file, fieldnames=list(group[0].payload))
            if is_empty:
                writer.writeheader()
            writer.writerows(record.payload for record in group)
            _LOGGER.debug("%s wrote %d rows to %s", update, len(group), file.name)

    def __repr__(self) -> str:
        return f"CsvOutlet(default_filepath:{self.default_filepath})"
