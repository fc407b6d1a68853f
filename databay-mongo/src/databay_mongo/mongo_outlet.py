"""MongoOutlet: writes records into MongoDB, grouped per collection, in bulk."""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Callable
from typing import Any, TypeVar, Union

import pymongo
from pymongo.database import Database
from pymongo.errors import PyMongoError

from databay.outlet import MetadataKey, Outlet, Processor
from databay.record import Record

__all__ = ["MongoOutlet", "MongoOutletError", "MongoCollectionNotFound", "ensure_connection"]

_LOGGER = logging.getLogger("databay.MongoOutlet")

F = TypeVar("F", bound=Callable[..., Any])


class MongoCollectionNotFound(Exception):
    """Raised when requested collection does not exist in the database (kept from databay 0.3)."""


class MongoOutletError(RuntimeError):
    """MongoOutlet could not reach the server or could not write."""


def ensure_connection(fn: F) -> F:
    """Ensure the MongoDB connection is established before running the function."""

    @functools.wraps(fn)
    def wrapper(self: MongoOutlet, *args: Any, **kwargs: Any) -> Any:
        if self._db is None:
            self.connect()
        return fn(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _redact(uri: str) -> str:
    """A connection string without its user and password."""
    return re.sub(r"//[^@/]*@", "//", uri)


class MongoOutlet(Outlet):
    """Outlet for pushing data into a MongoDB instance. Pushes are executed synchronously.

    :param database_name: database to write to.
    :param collection: collection for records without ``MONGODB_COLLECTION`` metadata.
    :param host: MongoDB host (pymongo's default ``localhost`` when None).
    :param port: MongoDB port (pymongo's default ``27017`` when None).
    :param processors: processors of this outlet, as for any :class:`~databay.outlet.Outlet`.
    :param uri: a MongoDB connection string, instead of host and port.
    :param timeout: seconds to wait for the server before failing.
    """

    MONGODB_COLLECTION: MetadataKey = MetadataKey("MongoOutlet.MONGODB_COLLECTION")
    """Name of collection to write to."""

    blocking = True  # pymongo waits on the network; in async links, push runs in a worker thread

    def __init__(
        self,
        database_name: str = "databay",
        collection: str = "default_collection",
        host: str | None = None,
        port: int | None = None,
        processors: Union[Processor, list[Processor], None] = None,
        *,
        uri: str | None = None,
        timeout: float = 5.0,
    ):
        super().__init__(processors)
        if uri is not None and (host is not None or port is not None):
            raise ValueError("MongoOutlet takes either uri= or host/port, not both")
        self.database_name = database_name
        self.collection = collection
        self.host = host
        self.port = port
        self.uri = uri
        self.timeout = timeout
        self._client: pymongo.MongoClient | None = None
        self._db: Database | None = None
        self._connect_lock = threading.Lock()

    @property
    def address(self) -> str:
        """Where this outlet writes, without credentials."""
        if self.uri is not None:
            return _redact(self.uri)
        return f"{self.host or 'localhost'}:{self.port or 27017}"

    def connect(self, database_name: str | None = None) -> bool:
        """Connect to ``database_name`` (default: this outlet's); True if already connected to it.

        :raises MongoOutletError: the server cannot be reached within ``timeout`` seconds.
        """
        database_name = database_name or self.database_name
        with self._connect_lock:
            if self._db is not None:
                if self._db.name == database_name:
                    return True
                self._disconnect()
            milliseconds = int(self.timeout * 1000)
            client: pymongo.MongoClient = pymongo.MongoClient(
                self.uri if self.uri is not None else self.host,
                self.port,
                serverSelectionTimeoutMS=milliseconds,
                connectTimeoutMS=milliseconds,
            )
            try:
                client.admin.command("ping")
            except PyMongoError as error:
                client.close()
                raise MongoOutletError(
                    f"Cannot reach MongoDB at {self.address} (database {database_name!r}) "
                    f"within {self.timeout}s: {type(error).__name__}: {error}"
                ) from None
            self._client, self._db = client, client[database_name]
            return False

    def disconnect(self) -> None:
        """Disconnect from the database if currently connected."""
        with self._connect_lock:
            self._disconnect()

    def _disconnect(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = self._db = None

    def on_start(self) -> None:
        """Connect to the MongoDB host on start."""
        self.connect()

    def on_shutdown(self) -> None:
        """Disconnect from the MongoDB host on shutdown."""
        self.disconnect()

    def _documents_by_collection(self, records: list[Record]) -> dict[str, list[dict]]:
        """Copies of the documents, grouped per collection; list payloads give several documents."""
        grouped: dict[str, list[dict]] = {}
        for record in records:
            target = grouped.setdefault(record.metadata_get(self.MONGODB_COLLECTION, self.collection), [])
            payload = record.payload
            if type(payload) is dict:  # the common case, kept cheap
                target.append(payload.copy())  # insert_many adds _id: never to the caller's dicts
                continue
            for document in payload if isinstance(payload, list) else [payload]:
                if not isinstance(document, dict):
                    raise TypeError(
                        f"{self!r} writes dict payloads as documents, got {type(document).__name__}: {record!r}"
                    )
                target.append(dict(document))
        return grouped

    @ensure_connection
    def push(self, records: list[Record], update: Any) -> None:
        """Write the records, one bulk insert per collection.

        :raises MongoOutletError: a write failed (how many documents were written is in the message).
        """
        for collection, documents in self._documents_by_collection(records).items():
            if not documents:
                continue
            _LOGGER.info("%s insert %d documents into %s.%s", update, len(documents), self.database_name, collection)
            _LOGGER.debug("%s documents: %s", update, documents)
            database = self._db
            assert database is not None  # ensure_connection connected it
            try:
                result = database[collection].insert_many(documents)
            except PyMongoError as error:
                written = (getattr(error, "details", None) or {}).get("nInserted", 0)
                raise MongoOutletError(
                    f"{self!r}: writing {len(documents)} documents into {self.database_name}.{collection} failed "
                    f"after {written} were written: {error}"
                ) from error
            _LOGGER.info(
                "%s written %d documents into %s.%s", update, len(result.inserted_ids), self.database_name, collection
            )

    def __repr__(self) -> str:
        return f"MongoOutlet(address:{self.address}, database:{self.database_name}, collection:{self.collection})"
