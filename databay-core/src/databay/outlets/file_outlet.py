"""FileOutlet: writes each record's payload as a line of a file."""

from __future__ import annotations

import logging
from typing import Any, Union

from databay.outlet import MetadataKey, Outlet, Processor
from databay.outlets.file_targets import FileTarget, write_in_turn
from databay.record import Record

__all__ = ["FileOutlet"]

_LOGGER = logging.getLogger("databay.FileOutlet")


class FileOutlet(Outlet):
    """Writes ``str(payload)`` of each record as a line of a file.

    A record that cannot be written (its payload's ``str()`` raises, or its file's encoding cannot
    encode it) is rejected on its own: the others are written, then
    :class:`~databay.delivery.RejectedRecords` names it (a link with a Delivery dead-letters it).

    :param default_filepath: file for records without ``FileOutlet.FILEPATH`` metadata.
    :param default_file_mode: open mode for records without ``FileOutlet.FILE_MODE``.
    :param default_encoding: encoding for records without ``FileOutlet.FILE_ENCODING``.
    :param processors: processors of this outlet, as for any :class:`~databay.outlet.Outlet`.
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
        processors: Union[Processor, list[Processor], None] = None,
    ):
        super().__init__(processors)
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
        """Write the records, one line each, opening each record's file with its own mode.

        :raises RejectedRecords: after writing the others, for the records whose ``str(payload)``
            raised or cannot be encoded in their file's encoding.
        """
        for path, count in write_in_turn(records, self._target, _line):
            _LOGGER.debug("%s wrote %d records to %s", update, count, path)

    def __repr__(self) -> str:
        return f"FileOutlet(default_filepath:{self.default_filepath})"


def _line(record: Record) -> str:
    return f"{record.payload!s}\n"
