"""FileOutlet: appends each record's payload to a file, one line per record."""

from __future__ import annotations

import logging
from typing import Any

from databay.outlet import MetadataKey, Outlet
from databay.outlets.file_targets import FileTarget, open_targets
from databay.record import Record

__all__ = ["FileOutlet"]

_LOGGER = logging.getLogger("databay.FileOutlet")


class FileOutlet(Outlet):
    """Writes ``str(payload)`` of each record as a line of a file.

    :param default_filepath: file for records without ``FileOutlet.FILEPATH`` metadata.
    :param default_file_mode: open mode for records without ``FileOutlet.FILE_MODE``.
    :param default_encoding: encoding for records without ``FileOutlet.FILE_ENCODING``.
    """

    FILEPATH: MetadataKey = MetadataKey("FileOutlet.FILEPATH")
    """Filepath of the file to write to."""
    FILE_MODE: MetadataKey = MetadataKey("FileOutlet.FILE_MODE")
    """Write mode to use when writing into the file."""
    FILE_ENCODING: MetadataKey = MetadataKey("FileOutlet.FILE_ENCODING")
    """Encoding to use when writing into the file."""

    def __init__(
        self,
        default_filepath: str,
        default_file_mode: str = "a",
        default_encoding: str = "utf-8",
        *args: Any,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.default_filepath = default_filepath
        self.default_file_mode = default_file_mode
        self.default_encoding = default_encoding

    def _target(self, record: Record) -> FileTarget:
        return (
            record.metadata_get(self.FILEPATH, self.default_filepath),
            record.metadata_get(self.FILE_MODE, self.default_file_mode),
            record.metadata_get(self.FILE_ENCODING, self.default_encoding),
        )

    def push(self, records: list[Record], update: Any) -> None:
        """Write the records, one line each."""
        for file, _, group in open_targets(records, self._target):
            file.writelines(f"{record.payload}\n" for record in group)
            _LOGGER.debug("%s wrote %d records to %s", update, len(group), file.name)

    def __repr__(self) -> str:
        return f"FileOutlet(default_filepath:{self.default_filepath})"
