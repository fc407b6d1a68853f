"""Opening the file each record goes to: shared by the file-writing outlets."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from itertools import groupby
from pathlib import Path
from typing import IO

from databay.delivery import RejectedRecords
from databay.record import Record

__all__ = ["FileTarget", "write_in_turn"]

FileTarget = tuple[str, str, str]
"""(path, mode, encoding)"""

Rejected = list[tuple[Record, BaseException]]


def write_in_turn(
    records: list[Record],
    target_of: Callable[[Record], FileTarget],
    render: Callable[[Record], str],
    newline: str | None = None,
    header: Callable[[Record], str] | None = None,
) -> list[tuple[str, int]]:
    """Write each record's text into its file, opened with the record's own mode, in record
    order, as databay 0.3 did per record; what was written: (path, records) per open.

    Consecutive records appending to one file share a single open, which leaves the file the same.
    Other modes are opened once per record, so a run of ``'w'`` records leaves only the last one
    and ``'x'`` refuses the second. Parent folders are created as needed.

    :param render: the text a record is written as.
    :param header: the text written before the first record of a new or emptied file
        (a ``'w'`` mode, or a file that is missing or empty).
    :raises RejectedRecords: after everything else is written, for the records whose text could
        not be made or encoded in their file's encoding; their file is not even opened for them.
    """
    rejected: Rejected = []
    written = []
    for (path, mode, encoding), run in groupby(records, key=target_of):
        for batch in [run] if "a" in mode else ([record] for record in run):
            count = _write(batch, (path, mode, encoding), render, newline, header, rejected)
            if count:
                written.append((path, count))
    if rejected:
        raise RejectedRecords(rejected) from rejected[0][1]
    return written


def _write(
    batch: Iterable[Record],
    target: FileTarget,
    render: Callable[[Record], str],
    newline: str | None,
    header: Callable[[Record], str] | None,
    rejected: Rejected,
) -> int:
    """Write a batch with one open, made at its first record that can be written; records that
    cannot go to ``rejected`` and leave no trace (no file created or truncated for them). How
    many were written."""
    path, mode, encoding = target
    "".encode(encoding)  # an unknown encoding is no record's fault: LookupError, as open() raised it
    file: IO[str] | None = None
    count = 0
    try:
        for record in batch:
            try:
                text = render(record)
                if file is None and header is not None and ("w" in mode or _empty(path)):
                    text = header(record) + text
                text.encode(encoding)  # raises what writing it would
            except Exception as error:
                rejected.append((record, error))
                continue
            if file is None:
                file = _open(path, mode, encoding, newline)
            file.write(text)
            count += 1
    finally:
        if file is not None:
            file.close()
    return count


def _open(path: str, mode: str, encoding: str, newline: str | None) -> IO[str]:
    """Open, creating missing parent folders."""
    try:
        return open(path, mode, encoding=encoding, newline=newline)
    except FileNotFoundError:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return open(path, mode, encoding=encoding, newline=newline)


def _empty(path: str) -> bool:
    try:
        return os.path.getsize(path) == 0
    except FileNotFoundError:
        return True
