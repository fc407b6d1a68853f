"""A TCP proxy that can hold back a server's answers: a hung server, as the client sees it."""

import contextlib
import socket
import threading
import time

import pymongo.uri_parser


class StallingProxy:
    """A TCP proxy in front of a MongoDB-wire server. While stalled, requests still reach the
    server (so writes land) but every answer is held back: a hung server, as the client sees it."""

    def __init__(self, uri: str):
        host, port = pymongo.uri_parser.parse_uri(uri)["nodelist"][0]
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stalled = threading.Event()
        self.closed = threading.Event()
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        try:
            while data := source.recv(65536):
                while answers and self.stalled.is_set() and not self.closed.is_set():
                    time.sleep(0.01)
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.closed.set()
        self.listener.close()
        with self.lock:
            for end in self.sockets:
                end.close()
