"""FileInlet: produces a file's contents, a line per transfer or the whole file each time."""

from __future__ import annotations

import codecs
import logging
import os
import threading
from collections import OrderedDict
from enum import Enum
from typing import IO, Any

from databay.inlet import Inlet
from databay.redaction import redact_text
from databay.update import Update

__all__ = ["FileInlet", "FileInletMode"]

_LOGGER = logging.getLogger("databay.FileInlet")

_PENDING_LIMIT = 1024
"""Uncommitted cursors kept: a link without a Delivery never commits, so the oldest are dropped."""

_COUNTED_CODECS = frozenset({"utf-8", "ascii", "iso8859-1"})
"""Codecs whose text encodes back to exactly the bytes it was decoded from, so the cursor is a
byte offset counted line by line (a text file's ``tell()`` costs dozens of readlines)."""

_BYTE_POSITION = (1 << 64) - 1
"""The bits of a text file's ``tell()`` that hold a byte position (the others: decoder state)."""


class FileInletMode(Enum):
    """How FileInlet reads its file."""

    LINE = "line"
    """One line per transfer; the file stays open while the planner runs."""
    FILE = "file"
    """The whole file on every transfer; opened only for the read."""


class FileInlet(Inlet):
    """Inlet producing data by reading a file.

    In LINE mode under a link with a :class:`~databay.delivery.Delivery`, the inlet commits
    ``checkpoint = {"path", "encoding", "position"}``: the file's absolute path, and where the line
    after the last delivered one starts (a byte offset for UTF-8, ASCII and Latin-1; for other
    encodings the text file's ``tell()``). Opened again with that checkpoint (the link's next run,
    with a ``state_dir``) it reads on from there: no line read twice, none skipped.

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
        self._lock = threading.Lock()  # a line and its cursor are read together
        self._path = ""  # the open file's absolute path, as the checkpoint names it
        self._tracked = False  # whether cursors are kept: not for a pipe, which cannot seek
        self._counted = False  # whether the cursor is self._offset (the file is read with newline="")
        self._offset = 0
        self._pending: OrderedDict[tuple[tuple[str, ...], int], int] = OrderedDict()
        """The cursor after the line each update pulled, by (tags, transfer number), in pull order."""

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
        with self._lock:
            line = self._file.readline()
            if self._counted:
                self._offset += len(line.encode(self.encoding))
                if line.endswith("\r\n"):  # line ends as universal newlines give them
                    line = line[:-2] + "\n"
                elif line.endswith("\r"):
                    line = line[:-1] + "\n"
            if self._tracked and isinstance(update, Update):
                self._remember(update, self._file)
        return line if line else []

    def _remember(self, update: Update, file: IO[str]) -> None:
        """Keep the cursor after the line ``update`` pulled until it is committed."""
        if self._counted:
            position = self._offset
        else:
            try:
                position = file.tell()
            except OSError as error:  # a decoder whose state tell() cannot rebuild
                self._tracked = False
                _LOGGER.warning("%r keeps no checkpoint: %s", self, error)
                return
        self._pending[(tuple(update.tags), update.transfer_number)] = position
        if len(self._pending) > _PENDING_LIMIT:
            self._pending.popitem(last=False)

    def commit(self, update: Update) -> None:
        """Checkpoint the cursor after the line ``update`` pulled, which covers every line
        pulled before it too."""
        key = (tuple(update.tags), update.transfer_number)
        with self._lock:
            if key not in self._pending:
                return
            while (pulled := self._pending.popitem(last=False))[0] != key:
                pass
            self.checkpoint = {"path": self._path, "encoding": self.encoding, "position": pulled[1]}

    def on_start(self) -> None:
        """In LINE mode open the file and hold it, at the checkpoint when it is this file's.

        :raises FileNotFoundError: no such file.
        """
        if self.read_mode is not FileInletMode.LINE or self._file is not None:
            return
        counted = codecs.lookup(self.encoding).name in _COUNTED_CODECS
        # Universal newlines either way; with newline="" pull translates line ends itself, after
        # counting their bytes.
        file = open(self.filepath, encoding=self.encoding, newline="" if counted else None)
        self._path = os.path.abspath(self.filepath)
        self._tracked = file.seekable()
        self._counted = counted
        self._pending.clear()
        self._offset = self._resume(file) if self._tracked else 0
        self._file = file

    def _resume(self, file: IO[str]) -> int:
        """Seek to the checkpoint if it names this file and encoding and lies inside the file;
        the position reading starts at."""
        saved = self.checkpoint
        position = saved.get("position")
        if type(position) is not int or saved.get("path") != self._path:
            return 0
        problem = None
        if saved.get("encoding") != self.encoding:
            problem = f"its checkpoint was taken reading {saved.get('encoding')}, not {self.encoding}"
        elif not 0 <= position & _BYTE_POSITION <= os.fstat(file.fileno()).st_size:
            problem = "the file is shorter than its checkpoint (truncated or replaced?)"
        else:
            try:
                file.seek(position)
            except (OSError, ValueError, OverflowError) as error:
                file.seek(0)
                problem = f"cannot seek to its checkpoint: {error}"
        if problem is not None:
            _LOGGER.warning("%r reads from the start: %s", self, problem)
            return 0
        _LOGGER.info("%r resumes at its checkpoint, position %d", self, position)
        return position

    def on_shutdown(self) -> None:
        """In LINE mode close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __repr__(self) -> str:
        return f"FileInlet(filepath:{redact_text(str(self.filepath))}, read_mode:{self.read_mode}, metadata:{self.metadata})"
