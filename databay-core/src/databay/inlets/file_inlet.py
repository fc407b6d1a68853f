"""FileInlet: produces a file's contents, a line per transfer or the whole file each time."""

from __future__ import annotations

from enum import Enum
from typing import IO, Any

from databay.inlet import Inlet

__all__ = ["FileInlet", "FileInletMode"]


class FileInletMode(Enum):
    """How FileInlet reads its file."""

    LINE = "line"
    """One line per transfer; the file stays open while the planner runs."""
    FILE = "file"
    """The whole file on every transfer; opened only for the read."""


class FileInlet(Inlet):
    """Inlet producing data by reading a file.

    :param filepath: path of the file.
    :param read_mode: :class:`FileInletMode`; a line per transfer by default.
    :param metadata: global metadata of the records, as for any :class:`~databay.inlet.Inlet`.
    :param encoding: text encoding of the file.
    """

    def __init__(
        self,
        filepath: str,
        read_mode: FileInletMode = FileInletMode.LINE,
        metadata: dict[str, Any] | None = None,
        *,
        encoding: str = "utf-8",
    ):
        super().__init__(metadata)
        self.filepath = filepath
        self.read_mode = FileInletMode(read_mode)
        self.encoding = encoding
        self._file: IO[str] | None = None

    def pull(self, update: Any) -> Any:
        """The next line (an empty list once the file is exhausted) or the whole file.

        :raises FileNotFoundError: the file does not exist.
        """
        if self.read_mode is FileInletMode.FILE:
            with open(self.filepath, encoding=self.encoding) as file:
                return file.read()
        if self._file is None:  # pulled outside a planner: open on first use
            self.on_start()
        assert self._file is not None  # on_start opens it in LINE mode
        line = self._file.readline()
        return line if line else []

    def on_start(self) -> None:
        """In LINE mode open the file and hold it. :raises FileNotFoundError: no such file."""
        if self.read_mode is FileInletMode.LINE and self._file is None:
            self._file = open(self.filepath, encoding=self.encoding)

    def on_shutdown(self) -> None:
        """In LINE mode close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __repr__(self) -> str:
        return f"FileInlet(filepath:{self.filepath}, read_mode:{self.read_mode}, metadata:{self.metadata})"
