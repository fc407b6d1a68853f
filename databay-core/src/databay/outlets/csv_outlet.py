"""CsvOutlet: writes dict payloads as CSV rows, with a header in each new or emptied file."""

from __future__ import annotations

import csv
import logging
import os
from typing import IO, Any, Union

from databay.outlet import MetadataKey, Outlet, Processor
from databay.outlets.file_targets import FileTarget, write_in_turn
from databay.record import Record

__all__ = ["CsvOutlet"]

_LOGGER = logging.getLogger("databay.CsvOutlet")


class CsvOutlet(Outlet):
    """Writes each record's dict payload as a CSV row; a new file's header is its first row's keys.

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
        """

        def write(file: IO[str], batch: list[Record]) -> None:
            writer = csv.writer(file)
            header = "w" in file.mode or os.fstat(file.fileno()).st_size == 0
            for record in batch:
                payload = record.payload
                if not isinstance(payload, dict):
                    raise TypeError(f"{self!r} writes dict payloads as rows, got {type(payload).__name__}: {record!r}")
                if header:
                    writer.writerow(payload.keys())
                    header = False
                writer.writerow(payload.values())
            _LOGGER.debug("%s wrote %d rows to %s", update, len(batch), file.name)

        write_in_turn(records, self._target, write, newline="")

    def __repr__(self) -> str:
        return f"CsvOutlet(default_filepath:{self.default_filepath})"
