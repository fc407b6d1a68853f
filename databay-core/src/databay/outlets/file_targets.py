"""Which file each record goes to: shared by the file-writing outlets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from databay.record import Record

__all__ = ["FileTarget", "open_targets"]

FileTarget = tuple[str, str, str]
"""(path, mode, encoding)"""


def open_targets(
    records: list[Record],
    target_of: Callable[[Record], FileTarget],
) -> Iterator[tuple[IO[str], bool, list[Record]]]:
    """Group records by target file, in first-seen order, and open each file once.

    Yields ``(file, is_empty, records)``; parent directories are created as needed.
    """
    groups: dict[FileTarget, list[Record]] = {}
    for record in records:
        groups.setdefault(target_of(record), []).append(record)
    for (path, mode, encoding), group in groups.items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, mode, encoding=encoding, newline="") as file:
            yield file, file.tell() == 0, group
