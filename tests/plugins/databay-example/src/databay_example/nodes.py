"""The example plugin's nodes: what an outside author writes to add inlets and outlets."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from databay import Inlet, Outlet, Record, Update
from databay.redaction import redact_url


class CountingInlet(Inlet):
    """Produces ``count`` consecutive integers per transfer, continuing where it stopped."""

    def __init__(self, count: int = 3, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.count = count
        self.next = 0

    def pull(self, update: Update) -> list[int]:
        start, self.next = self.next, self.next + self.count
        return list(range(start, self.next))


class JsonFeedInlet(Inlet):
    """Pulls a JSON document over HTTP: a list gives one record per element, anything else one record.

    A sync node that waits on the network, so it declares ``blocking``: on a planner's event loop its
    pulls run in worker threads. Its repr never shows the password or secret query values of ``url``.

    :param url: the feed's address (``https://user:password@host/path?api_key=...`` is fine).
    :param timeout: seconds to wait for the server.
    """

    blocking = True

    def __init__(self, url: str, timeout: float = 10.0, metadata: dict[str, Any] | None = None):
        super().__init__(metadata)
        self.url = url
        self.timeout = timeout

    def pull(self, update: Update) -> Any:
        with urllib.request.urlopen(self.url, timeout=self.timeout) as response:
            return json.load(response)

    def __repr__(self) -> str:
        return f"JsonFeedInlet({redact_url(self.url)})"


class MemoryOutlet(Outlet):
    """Keeps every payload pushed to it in ``payloads``."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.payloads: list[Any] = []

    def push(self, records: list[Record], update: Update) -> None:
        self.payloads.extend(record.payload for record in records)
