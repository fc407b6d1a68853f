"""MongoOutlet: writes records into MongoDB, grouped per collection, in bulk; a record MongoDB
cannot take is rejected on its own (:class:`databay.RejectedRecords`) after the others are written.

pymongo and bson are imported when an outlet needs them (a connection string to check, a
connection, a write), not with this module: a process that loads every installed plugin but
writes nothing to MongoDB never holds their objects.
"""

from __future__ import annotations

import functools
import logging
import threading
import traceback
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, Union

from databay.delivery import RejectedRecords
from databay.outlet import MetadataKey, Outlet, Processor
from databay.record import Record
from databay.redaction import MASK, redact_text

if TYPE_CHECKING:
    import pymongo
    from bson.codec_options import CodecOptions
    from bson.raw_bson import RawBSONDocument
    from pymongo.collection import Collection
    from pymongo.database import Database
    from pymongo.errors import PyMongoError

__all__ = ["MongoOutlet", "MongoOutletError", "MongoDocumentError", "MongoCollectionNotFound", "ensure_connection"]

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


class MongoDocumentError(MongoOutletError):
    """One record MongoDB would not take: a document BSON cannot encode, or one the server
    refused (a duplicate key, a failed validation, too large). The rest of its batch was written;
    the outlet raises these inside :class:`databay.RejectedRecords`.

    :ivar written: how many of the record's documents the server holds (a list payload's other
        documents may have been written).
    """


# Write errors that say nothing about the document: the same write may succeed later. A batch
# with one of these fails as a whole (it is retried or spilled) instead of rejecting records.
# pymongo's own retryable codes (helpers_shared._RETRYABLE_ERROR_CODES), and time limits and
# write conflicts.
_TRANSIENT_WRITE_ERRORS = frozenset(
    {6, 7, 24, 50, 89, 91, 112, 134, 189, 262, 9001, 10058, 10107, 11600, 11601, 11602, 13435, 13436}
)

# What to write instead of a value BSON cannot encode, by type name.
_INSTEAD = {
    "set": "a list",
    "frozenset": "a list",
    "Decimal": "bson.Decimal128 or a float",
    "date": "a datetime.datetime",
    "time": "a string or a datetime.datetime",
    "timedelta": "a number of seconds",
    "UUID": "a string, or a uuidRepresentation in the uri",
}


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
    from pymongo.errors import PyMongoError

    try:  # pymongo's URI parser without the DNS lookups of mongodb+srv:// (pymongo >= 4.13)
        from pymongo.uri_parser_shared import _validate_uri as _parse_uri
    except ImportError:  # older pymongo: parse_uri, which resolves mongodb+srv:// names
        from pymongo.uri_parser import parse_uri as _parse_uri  # type: ignore[assignment]
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
        import pymongo
        from pymongo.errors import PyMongoError

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

    def _documents_by_collection(
        self, records: list[Record]
    ) -> tuple[dict[str, list[tuple[int, dict]]], list[tuple[int, Exception]]]:
        """Copies of the documents, grouped per collection, each with the index of its record in
        ``records``; list payloads give several documents. And the records that hold something
        other than dicts, with their error."""
        grouped: dict[str, list[tuple[int, dict]]] = {}
        refused: list[tuple[int, Exception]] = []
        for index, record in enumerate(records):
            target = grouped.setdefault(record.metadata_get(self.MONGODB_COLLECTION, self.collection), [])
            payload = record.payload
            if type(payload) is dict:  # the common case, kept cheap
                target.append((index, payload.copy()))  # _id goes on copies: never on the caller's dicts
                continue
            documents = payload if isinstance(payload, list) else [payload]
            wrong = next((document for document in documents if not isinstance(document, dict)), None)
            if wrong is not None:
                refused.append(
                    (index, TypeError(f"{self!r} writes dict payloads as documents, got {type(wrong).__name__}"))
                )
                continue
            target.extend((index, dict(document)) for document in documents)
        return grouped, refused

    @ensure_connection
    def push(self, records: list[Record], update: Any) -> None:
        """Write the records, one unordered bulk insert per collection.

        Each document is encoded here, once: a record with a document BSON cannot encode is not
        sent, and one the server refuses (a duplicate key, say) does not stop the others.

        :raises RejectedRecords: after writing everything else, for the records MongoDB would not
            take, each with a :class:`MongoDocumentError` naming the outlet and the problem (a
            payload that is not a dict, or a list of dicts, is a ``TypeError``).
        :raises MongoOutletError: a write failed as a whole (the server is down, a timeout, a
            write concern error); how many of its documents the server holds is in the message
            and in ``written`` (asked of the server when pymongo cannot tell).
        """
        grouped, refused = self._documents_by_collection(records)
        rejected: dict[int, Exception] = dict(refused)
        for collection_name, documents in grouped.items():
            if not documents:
                continue
            database = self._db
            assert database is not None  # ensure_connection connected it
            collection = database[collection_name]
            rejected.update(self._insert(collection, documents, update))
        if rejected:
            first = rejected[min(rejected)]
            text = str(first).removeprefix(f"{self!r}: ").removeprefix(f"{self!r} ")
            raise RejectedRecords(  # chained to the first rejection, as core's outlets do; never to pymongo's errors
                [(records[index], rejected[index]) for index in sorted(rejected)],
                f"{self!r} wrote {len(records) - len(rejected)} record(s) and rejected {len(rejected)}; the first: {text}",
            ) from first

    def _insert(self, collection: Collection, documents: list[tuple[int, dict]], update: Any) -> dict[int, Exception]:
        """Insert the documents that encode; the records MongoDB would not take, with their errors.

        :raises MongoOutletError: the insert failed as a whole.
        """
        from bson import encode
        from bson.objectid import ObjectId
        from bson.raw_bson import RawBSONDocument
        from pymongo.errors import BulkWriteError, PyMongoError

        _LOGGER.info("%s insert %d documents into %s.%s", update, len(documents), self.database_name, collection.name)
        _LOGGER.debug("%s documents: %s", update, [document for _, document in documents])
        options = collection.codec_options
        rejected: dict[int, Exception] = {}
        owners: list[int] = []  # the record of each document sent
        ids: list[Any] = []
        encoded: list[RawBSONDocument] = []
        every: list[int] = []  # the record of each document
        limit = self._max_document_size()

        def which(position: int) -> str:
            if not every:  # made once, on the first failure
                every.extend(owner for owner, _ in documents)
            return _which(every, position)

        for position, (index, document) in enumerate(documents):
            if index in rejected:
                continue
            if "_id" not in document:
                document["_id"] = ObjectId()  # as insert_many would: how to find them after a timeout
            try:
                raw = encode(document, codec_options=options)
            except Exception as error:  # bson raises InvalidDocument, OverflowError, ValueError, TypeError…
                rejected[index] = self._unencodable(collection, which(position), document, error)
                continue
            if len(raw) > limit:  # the server refuses it; past its message size pymongo fails the whole insert
                rejected[index] = MongoDocumentError(
                    f"{self!r}: {which(position)} for {self.database_name}.{collection.name}: the document is "
                    f"{len(raw)} bytes as BSON, over the server's limit of {limit}; not written",
                    0,
                )
                continue
            owners.append(index)
            ids.append(document["_id"])
            encoded.append(RawBSONDocument(raw))
        if rejected:  # a record's documents are written all together or, when one cannot be encoded, not at all
            keep = [position for position, owner in enumerate(owners) if owner not in rejected]
            owners, ids, encoded = [owners[p] for p in keep], [ids[p] for p in keep], [encoded[p] for p in keep]
        if not encoded:
            return rejected
        try:
            collection.insert_many(encoded, ordered=False)  # sent as encoded: no second encoding
        except BulkWriteError as error:
            refused = error.details.get("writeErrors") or []
            if error.details.get("writeConcernErrors") or not refused or any(_transient(e) for e in refused):
                failure = self._write_failed(error, collection, ids, update)
            else:
                rejected.update(self._refused(collection, owners, refused))
                failure = None
        except PyMongoError as error:
            failure = self._write_failed(error, collection, ids, update)
        else:
            failure = None
        if failure is not None:
            raise failure  # outside the except block: pymongo's exception stays out of the chain
        _LOGGER.info(
            "%s written %d documents into %s.%s%s",
            update,
            len(encoded) - sum(1 for owner in owners if owner in rejected),
            self.database_name,
            collection.name,
            f"; {len(rejected)} record(s) rejected" if rejected else "",
        )
        return rejected

    def _max_document_size(self) -> int:
        """The largest document the server takes: its maxBsonObjectSize (MongoDB's 16 MiB until it said)."""
        from pymongo.common import MAX_BSON_SIZE

        client = self._client
        servers = client.topology_description.server_descriptions().values() if client is not None else []
        return max((server.max_bson_size for server in servers if server.is_writable), default=MAX_BSON_SIZE)

    def _unencodable(self, collection: Collection, which: str, document: dict, error: Exception) -> MongoDocumentError:
        """The error for ``which`` document of a record, one BSON cannot encode: the field, and
        what to store instead."""
        from bson.errors import InvalidDocument

        path, culprit, cause = _culprit(document, "", collection.codec_options, error)
        kind = type(culprit).__name__
        if isinstance(culprit, int) and isinstance(cause, OverflowError):
            problem = "holds an int out of BSON's 64-bit range (store it as a string or a bson.Decimal128)"
        elif isinstance(cause, InvalidDocument) and str(cause).startswith("Invalid document: cannot encode object"):
            problem = f"holds a {kind}, which BSON cannot encode"  # bson's text would repeat the value
        else:  # a key, a size, a codec's own words (they do not repeat values)
            problem = f"cannot be encoded: {type(cause).__name__}: {redact_text(str(cause), self._secrets)[:300]}"
        instead = _INSTEAD.get(kind) if not isinstance(culprit, (dict, list, int)) else None
        return MongoDocumentError(
            f"{self!r}: {which} for {self.database_name}.{collection.name}: "
            f"{f'field {path!r}' if path else 'the document'} {problem}{f' (store {instead})' if instead else ''}; "
            "not written",
            0,
        )

    def _refused(self, collection: Collection, owners: list[int], refused: list[dict]) -> dict[int, Exception]:
        """The records of the documents the server refused one by one (``owners``: the record
        of each document sent), each with the error for its first refused document."""
        errors: dict[int, list[dict]] = {}
        for write_error in refused:
            errors.setdefault(owners[int(write_error["index"])], []).append(write_error)
        rejected: dict[int, Exception] = {}
        for index, own in errors.items():
            first = own[0]
            position = int(first["index"])
            sent = len(_run(owners, position))
            others = f"; {sent - len(own)} of its {sent} documents were written" if sent > 1 else ""
            rejected[index] = MongoDocumentError(
                f"{self!r}: the server refused {_which(owners, position)} in {self.database_name}.{collection.name}: "
                f"{redact_text(str(first.get('errmsg', '')), self._secrets)} (code {first.get('code')}){others}",
                sent - len(own),
            )
        return rejected

    def _write_failed(
        self, error: PyMongoError, collection: Collection, ids: list[Any], update: Any
    ) -> MongoOutletError:
        """The outlet's error for a failed insert_many of the documents with ``ids``, with the
        count the server really holds."""
        from pymongo.errors import BulkWriteError

        cause = self._describe(error, update)
        written: int | None
        if isinstance(error, BulkWriteError):  # the server answered: its count is exact
            written = int(error.details.get("nInserted", 0))
        else:  # e.g. a timeout after the insert was sent: ask the server which documents landed
            written = self._count_landed(collection, ids)
        if written is None:
            outcome = f"how many of them were written is unknown (the server did not answer within {self.timeout}s)"
        else:
            outcome = f"{written} of them were written"
        return MongoOutletError(
            f"{self!r}: writing {len(ids)} documents into {self.database_name}.{collection.name} failed; "
            f"{outcome}: {cause}",
            written,
        )

    def _count_landed(self, collection: Collection, ids: list[Any]) -> int | None:
        """How many of the documents with ``ids`` the server holds; None if it cannot say."""
        from pymongo.errors import PyMongoError

        try:
            return collection.count_documents({"_id": {"$in": ids}})
        except PyMongoError as error:
            _LOGGER.debug("counting the written documents failed: %s", self._describe(error))
            return None

    def _describe(self, error: PyMongoError, update: Any = None) -> str:
        """``Type: message`` of a pymongo error, credentials masked; its traceback at DEBUG."""
        from pymongo.errors import BulkWriteError

        if _LOGGER.isEnabledFor(logging.DEBUG):
            text = redact_text("".join(traceback.format_exception(error)), self._secrets)
            _LOGGER.debug("%s%s failed:\n%s", f"{update} " if update is not None else "", self, text)
        refused = error.details.get("writeErrors") if isinstance(error, BulkWriteError) else None
        if refused:  # the error's text holds the refused documents: name the first error only
            first = refused[0]
            text = (
                f"{len(refused)} document(s) refused; the first, at index {first.get('index')}: {first.get('errmsg')}"
            )
        else:  # a server selection timeout ends with pymongo's whole topology: the DEBUG traceback has it
            text = str(error).partition(", Topology Description: ")[0]
        return f"{type(error).__name__}: {redact_text(text, self._secrets)}"

    def __repr__(self) -> str:
        return f"MongoOutlet(address:{self.address}, database:{self.database_name}, collection:{self.collection})"


def _transient(write_error: Mapping[str, Any]) -> bool:
    """Whether a write error may go away on its own (then the batch is retried, not the record rejected)."""
    labels = write_error.get("errorLabels") or ()
    return write_error.get("code") in _TRANSIENT_WRITE_ERRORS or "RetryableWriteError" in labels


def _culprit(value: Any, path: str, options: CodecOptions, error: Exception) -> tuple[str, Any, Exception]:
    """The innermost part of ``value`` (which failed to encode with ``error``) that BSON cannot
    encode: its dotted path (``items.2.price``), the part itself and bson's error for it.

    Only ever run on a document that failed to encode, so its cost is no concern.
    """
    from bson import encode

    if isinstance(value, Mapping):
        children: list[tuple[Any, Any]] = list(value.items())
    elif isinstance(value, (list, tuple)):
        children = list(enumerate(value))
    else:
        return path, value, error
    for key, item in children:
        if isinstance(value, Mapping) and not isinstance(key, str):
            return path, value, error  # a key BSON refuses: the mapping is the culprit
        try:
            encode({"_": item}, codec_options=options)
        except Exception as inner:
            return _culprit(item, f"{path}.{key}" if path else str(key), options, inner)
    return path, value, error  # every part encodes alone: a key, or the size


def _run(owners: list[int], position: int) -> range:
    """The positions of the documents of the record at ``position`` (a record's documents are
    next to each other)."""
    first = last = position
    while first > 0 and owners[first - 1] == owners[position]:
        first -= 1
    while last + 1 < len(owners) and owners[last + 1] == owners[position]:
        last += 1
    return range(first, last + 1)


def _which(owners: list[int], position: int) -> str:
    """``the document of record 3`` or ``document 2 of 4 of record 3``: the document at
    ``position``, its record counted from 1 in the batch."""
    run = _run(owners, position)
    record = f"record {owners[position] + 1}"
    return (
        f"the document of {record}"
        if len(run) == 1
        else f"document {run.index(position) + 1} of {len(run)} of {record}"
    )
