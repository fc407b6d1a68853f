"""Opening the file each record goes to: shared by the file-writing outlets."""

from __future__ import annotations

from collections.abc import Callable
from itertools import groupby
from pathlib import Path
from typing import IO

from databay.record import Record

__all__ = ["FileTarget", "write_in_turn"]

FileTarget = tuple[str, str, str]
"""(path, mode, encoding)"""


def write_in_turn(
    records: list[Record],
    target_of: Callable[[Record], FileTarget],
    write: Callable[[IO[str], list[Record]], None],
    newline: str | None = None,
) -> None:
    """Open each record's file with its own mode, in record order, as databay 0.3 did per record.

    Consecutive records appending to one file share a single open, which leaves the file the same.
    Other modes are opened once per record, so a run of ``'w'`` records leaves only the last one
    and ``'x'`` refuses the second. Parent folders are created as needed.
    """
    for (path, mode, encoding), run in groupby(records, key=target_of):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        group = list(run)
        opens = [group] if "a" in mode else [[record] for record in group]
        for batch in opens:
            with open(path, mode, encoding=encoding, newline=newline) as file:
                write(file, batch)
