"""MongoOutlet: writes records into MongoDB, grouped per collection, in bulk."""

from __future__ import annotations

import functools
import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any, TypeVar, Union

import pymongo
import pymongo.uri_parser
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, PyMongoError

from databay.outlet import MetadataKey, Outlet, Processor
from databay.record import Record
from databay.redaction import MASK, redact_text

try:  # pymongo's URI parser without the DNS lookups of mongodb+srv:// (pymongo >= 4.13)
    from pymongo.uri_parser_shared import _validate_uri as _parse_uri
except ImportError:  # older pymongo: parse_uri, which resolves mongodb+srv:// names
    _parse_uri = pymongo.uri_parser.parse_uri  # type: ignore[assignment]

__all__ = ["MongoOutlet", "MongoOutletError", "MongoCollectionNotFound", "ensure_connection"]

_LOGGER = logging.getLogger("databay.MongoOutlet")

F = TypeVar("F", bound=Callable[..., Any])


class MongoCollectionNotFound(Exception):
    """Raised when requested collection does not exist in the database (kept from databay 0.3)."""


class MongoOutletError(RuntimeError):
    """MongoOutlet could not reach the server or could not write.

    The message names the outlet's address without credentials; pymongo's exception is not
    chained (its traceback, redacted, is logged at DEBUG by ``databay.MongoOutlet``).

    :ivar written: for a failed write, how many of its documents the server holds; None when
        that could not be found out (the server did not answer).
    """

    def __init__(self, message: str, written: int | None = None):
        super().__init__(message)
        self.written = written


def ensure_connection(fn: F) -> F:
    """Ensure the MongoDB connection is established before running the function."""

    @functools.wraps(fn)
    def wrapper(self: MongoOutlet, *args: Any, **kwargs: Any) -> Any:
        if self._db is None:
            self.connect()
        return fn(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


_SCHEMES = ("mongodb://", "mongodb+srv://")


def _parse(uri: str) -> dict[str, Any]:
    """``uri`` taken apart by pymongo's own parser; a ValueError without the URI's text if it is invalid."""
    try:
        return _parse_uri(uri)
    except (PyMongoError, ValueError) as error:
        problem = f"{type(error).__name__}: {redact_text(str(error))}"
    raise ValueError(
        f"MongoOutlet: uri is not a valid MongoDB connection string ({problem}); user name and password "
        "must be percent-encoded (urllib.parse.quote_plus)"
    )


def _address(parsed: dict[str, Any], scheme: str) -> str:
    """``scheme://***@host:port,…/database``: where a parsed URI points, without credentials or options."""
    if parsed.get("fqdn"):
        hosts = parsed["fqdn"]
    else:
        hosts = ",".join(
            f"[{host}]:{port}" if ":" in host else f"{host}:{port}" if port else host
            for host, port in parsed["nodelist"]
        )
    userinfo = f"{MASK}@" if parsed.get("username") or parsed.get("password") else ""
    database = f"/{parsed['database']}" if parsed.get("database") else ""
    return f"{scheme}://{userinfo}{hosts}{database}"


class MongoOutlet(Outlet):
    """Outlet for pushing data into a MongoDB instance. Pushes are executed synchronously.

    :param database_name: database to write to.
    :param collection: collection for records without ``MONGODB_COLLECTION`` metadata.
    :param host: MongoDB host (pymongo's default ``localhost`` when None).
    :param port: MongoDB port (pymongo's default ``27017`` when None).
    :param processors: processors of this outlet, as for any :class:`~databay.outlet.Outlet`.
    :param uri: a MongoDB connection string, instead of host and port; checked by pymongo's
        parser when the outlet is made (a ValueError that does not repeat it, if invalid).
    :param timeout: seconds to wait for the server before failing: pymongo's server selection,
        connect and socket timeouts, and its per-operation ``timeoutMS`` so that a retried write
        still ends in time (they override the same options in ``uri``). A write that fails
        without the server saying how much it wrote (a timeout) is followed by a count of its
        documents on the server, also within ``timeout``.

    Logs, errors and the repr show :attr:`address`: user and password as ``***``, no options.
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
        self._secrets: set[str] = set()
        connection_string = uri if uri is not None else host if host and host.startswith(_SCHEMES) else None
        if connection_string is not None:  # pymongo also takes a connection string as host, as in databay 0.3
            parsed = _parse(connection_string)
            self._address = _address(parsed, connection_string.partition("://")[0])
            self._secrets = {value for value in (parsed.get("username"), parsed.get("password")) if value}
        else:
            self._address = f"{host or 'localhost'}:{port or 27017}"
        self._client: pymongo.MongoClient | None = None
        self._db: Database | None = None
        self._connect_lock = threading.Lock()

    @property
    def address(self) -> str:
        """Where this outlet writes, without credentials."""
        return self._address

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
                socketTimeoutMS=milliseconds,
                timeoutMS=milliseconds,  # each operation, its retries included, within the timeout
            )
            try:
                client.admin.command("ping")
            except PyMongoError as error:
                client.close()
                failure = MongoOutletError(
                    f"Cannot reach MongoDB at {self.address} (database {database_name!r}) "
                    f"within {self.timeout}s: {self._describe(error)}"
                )
            else:
                self._client, self._db = client, client[database_name]
                return False
        raise failure  # outside the except block: pymongo's exception stays out of the chain

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

        :raises MongoOutletError: a write failed; how many of its documents the server holds is
            in the message and in ``written`` (asked of the server when pymongo cannot tell).
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
                failure = self._write_failed(error, database[collection], documents, update)
            else:
                _LOGGER.info(
                    "%s written %d documents into %s.%s",
                    update,
                    len(result.inserted_ids),
                    self.database_name,
                    collection,
                )
                continue
            raise failure  # outside the except block: pymongo's exception stays out of the chain

    def _write_failed(
        self, error: PyMongoError, collection: Collection, documents: list[dict], update: Any
    ) -> MongoOutletError:
        """The outlet's error for a failed insert_many, with the count the server really holds."""
        cause = self._describe(error, update)
        written: int | None
        if isinstance(error, BulkWriteError):  # the server answered: its count is exact
            written = int(error.details.get("nInserted", 0))
        else:  # e.g. a timeout after the insert was sent: ask the server which documents landed
            written = self._count_landed(collection, documents)
        if written is None:
            outcome = f"how many of them were written is unknown (the server did not answer within {self.timeout}s)"
        else:
            outcome = f"{written} of them were written"
        return MongoOutletError(
            f"{self!r}: writing {len(documents)} documents into {self.database_name}.{collection.name} failed; "
            f"{outcome}: {cause}",
            written,
        )

    def _count_landed(self, collection: Collection, documents: list[dict]) -> int | None:
        """How many of ``documents`` (by the ``_id`` insert_many gave them) the server holds; None if it cannot say."""
        ids = [document["_id"] for document in documents if "_id" in document]
        if len(ids) < len(documents):  # never sent: pymongo assigns every _id before sending
            return 0 if not ids else None
        try:
            return collection.count_documents({"_id": {"$in": ids}})
        except PyMongoError as error:
            _LOGGER.debug("counting the written documents failed: %s", self._describe(error))
            return None

    def _describe(self, error: PyMongoError, update: Any = None) -> str:
        """``Type: message`` of a pymongo error, credentials masked; its traceback at DEBUG."""
        if _LOGGER.isEnabledFor(logging.DEBUG):
            text = redact_text("".join(traceback.format_exception(error)), self._secrets)
            _LOGGER.debug("%s%s failed:\n%s", f"{update} " if update is not None else "", self, text)
        refused = error.details.get("writeErrors") if isinstance(error, BulkWriteError) else None
        if refused:  # the error's text holds the refused documents: name the first error only
            first = refused[0]
            text = (
                f"{len(refused)} document(s) refused; the first, at index {first.get('index')}: {first.get('errmsg')}"
            )
        else:
            text = str(error)
        return f"{type(error).__name__}: {redact_text(text, self._secrets)}"

    def __repr__(self) -> str:
        return f"MongoOutlet(address:{self.address}, database:{self.database_name}, collection:{self.collection})"
