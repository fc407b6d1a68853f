"""A real MongoDB-wire server for tests: SecantusDB in-process, or DATABAY_TEST_MONGODB_URI when set."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

URI_ENV = "DATABAY_TEST_MONGODB_URI"


@contextlib.contextmanager
def mongodb_uri() -> Iterator[str]:
    """Yield a connection string of a running server for the duration of the block."""
    uri = os.environ.get(URI_ENV)
    if uri:
        yield uri
        return
    from secantus import SecantusDBServer

    with tempfile.TemporaryDirectory(prefix="databay-secantus-") as storage:
        server = SecantusDBServer(storage_path=storage)
        server.start()
        try:
            yield server.uri
        finally:
            server.stop()
