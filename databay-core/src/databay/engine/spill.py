"""Spilled batches: the queue of batches an outlet could not take, per (link, outlet).

In memory without a ``state_dir``; otherwise one SQLite file per link, in WAL mode, committed on
every change, so a batch spilled before a crash (even ``kill -9``) is redelivered by the next run
of the same link. Records are pickled: whatever a payload is, it comes back as it was pushed.
"""

from __future__ import annotations

import collections
import fcntl
import itertools
import os
import pickle
import sqlite3
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from databay.record import Record

__all__ = ["SpillQueue", "MemorySpill", "SqliteSpillStore"]


class SpillQueue:
    """Batches waiting for one outlet, oldest first."""

    durable = False

    def __len__(self) -> int:
        """Records waiting (not batches)."""
        raise NotImplementedError

    def append(self, records: list[Record]) -> None:
        """Queue a batch behind the others."""
        raise NotImplementedError

    def oldest(self) -> tuple[int, list[Record]] | None:
        """The oldest batch and its id, or None when empty."""
        raise NotImplementedError

    def remove(self, batch_id: int) -> None:
        """Drop a batch once delivered."""
        raise NotImplementedError


class MemorySpill(SpillQueue):
    """A queue that lives as long as the process."""

    def __init__(self) -> None:
        self._batches: collections.deque[tuple[int, list[Record]]] = collections.deque()
        self._ids = itertools.count()
        self._records = 0

    def __len__(self) -> int:
        return self._records

    def append(self, records: list[Record]) -> None:
        self._batches.append((next(self._ids), records))
        self._records += len(records)

    def oldest(self) -> tuple[int, list[Record]] | None:
        return self._batches[0] if self._batches else None

    def remove(self, batch_id: int) -> None:
        for index, (queued_id, records) in enumerate(self._batches):
            if queued_id == batch_id:
                del self._batches[index]
                self._records -= len(records)
                return


class SqliteSpillStore:
    """One link's durable state: spilled batches per outlet, and its inlets' checkpoints."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        claim = _claim(path)
        self._release = weakref.finalize(self, os.close, claim)  # the lock lasts as long as this store
        self._lock = threading.Lock()  # one connection, used from whichever thread runs the link
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives a killed process
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS spill (id INTEGER PRIMARY KEY AUTOINCREMENT, outlet TEXT NOT NULL,"
            " count INTEGER NOT NULL, records BLOB NOT NULL)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS checkpoint (inlet TEXT PRIMARY KEY, state TEXT NOT NULL)")

    def queue(self, outlet: str) -> SqliteSpill:
        """The durable queue of one outlet (named by a key stable across runs)."""
        return SqliteSpill(self, outlet)

    def execute(self, sql: str, *parameters: object) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()

    def save_checkpoints(self, states: dict[str, str]) -> None:
        """Replace the given inlets' checkpoints in one transaction (all or none)."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany("INSERT OR REPLACE INTO checkpoint VALUES (?, ?)", states.items())
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def checkpoints(self) -> dict[str, str]:
        return {str(inlet): str(state) for inlet, state in self.execute("SELECT inlet, state FROM checkpoint")}

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._release()


def _claim(path: Path) -> int:
    """An exclusive lock on a link's state, held while its store lives: two processes (or two
    links) running the same link's state would otherwise deliver each other's batches."""
    claim = os.open(path.with_suffix(".lock"), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(claim)
        raise RuntimeError(
            f"{path} is in use by another process or link running the same link (tags and state_dir)"
        ) from None
    return claim


class SqliteSpill(SpillQueue):
    """One outlet's queue in its link's SQLite file."""

    durable = True

    def __init__(self, store: SqliteSpillStore, outlet: str) -> None:
        self._store = store
        self._outlet = outlet
        rows = store.execute("SELECT COALESCE(SUM(count), 0) FROM spill WHERE outlet = ?", outlet)
        self._records = int(rows[0][0])

    def __len__(self) -> int:
        return self._records

    def append(self, records: list[Record]) -> None:
        blob = pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL)
        self._store.execute("INSERT INTO spill (outlet, count, records) VALUES (?, ?, ?)", self._outlet, len(records), blob)
        self._records += len(records)

    def oldest(self) -> tuple[int, list[Record]] | None:
        rows = self._store.execute("SELECT id, records FROM spill WHERE outlet = ? ORDER BY id LIMIT 1", self._outlet)
        if not rows:
            return None
        batch_id, blob = rows[0]
        records: list[Record] = pickle.loads(blob)
        return int(batch_id), records

    def remove(self, batch_id: int) -> None:
        rows = self._store.execute("DELETE FROM spill WHERE id = ? RETURNING count", batch_id)
        if rows:
            self._records -= int(rows[0][0])
