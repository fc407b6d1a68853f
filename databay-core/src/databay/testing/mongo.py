"""A real MongoDB-wire server for tests: SecantusDB in-process, or ``DATABAY_TEST_MONGODB_URI`` when set.

SecantusDB (``pip install secantusdb``) speaks the MongoDB wire protocol over WiredTiger and
starts on a free port in about 0.1 s, so a Mongo node is tested over TCP as it runs, with no mongomock.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import Any

__all__ = ["URI_ENV", "RestartableSecantusDB", "mongodb_uri"]

URI_ENV = "DATABAY_TEST_MONGODB_URI"
"""Set to a connection string to run the tests against that server (a real mongod, say) instead."""


@contextlib.contextmanager
def mongodb_uri(storage_path: str | None = None) -> Iterator[str]:
    """Yield the connection string of a running server for the duration of the block.

    :param storage_path: where SecantusDB keeps its data (it persists there); a temporary
        directory, removed afterwards, by default. Unused with ``DATABAY_TEST_MONGODB_URI``.
    """
    uri = os.environ.get(URI_ENV)
    if uri:
        yield uri
        return
    from secantus import SecantusDBServer

    with contextlib.ExitStack() as stack:
        if storage_path is None:
            storage_path = stack.enter_context(tempfile.TemporaryDirectory(prefix="databay-secantus-"))
        server = SecantusDBServer(storage_path=storage_path)
        server.start()
        try:
            yield server.uri
        finally:
            server.stop()


class RestartableSecantusDB:
    """SecantusDB in-process on one storage path and one port, that can be stopped and started
    again: what it held before a stop it holds after (SecantusDB keeps its data in storage_path).

    The first start takes a free port; later starts bind the same one, so clients that knew the
    server (pymongo reconnects on its own) find it again.
    """

    def __init__(self, storage_path: str, host: str = "127.0.0.1"):
        self.storage_path = storage_path
        self.host = host
        self.port = 0
        self._server: Any = None

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._server is not None

    @property
    def uri(self) -> str:
        """The connection string (valid across restarts)."""
        if not self.port:
            raise RuntimeError("the server was never started")
        return f"mongodb://{self.host}:{self.port}/"

    def start(self) -> None:
        """Listen (on the port of the first start, if there was one)."""
        from secantus import SecantusDBServer

        if self._server is not None:
            raise RuntimeError("the server is running")
        server = SecantusDBServer(host=self.host, port=self.port, storage_path=self.storage_path)
        server.start()
        self.port = server.address[1]
        self._server = server

    def stop(self) -> None:
        """Stop listening, close every connection and the storage (a clean stop: what it acknowledged is kept)."""
        if self._server is not None:
            server, self._server = self._server, None
            server.stop()

    def __enter__(self) -> RestartableSecantusDB:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
