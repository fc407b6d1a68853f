"""HttpInlet: produces records from what a URL returns (JSON or text), over aiohttp."""

from __future__ import annotations

import json as jsonlib
import logging
import ssl
from typing import Any

import aiohttp
from aiohttp.typedefs import LooseHeaders
from yarl import URL

from databay.inlet import Inlet
from databay_http.sessions import SessionPool

__all__ = ["HttpInlet", "HttpInletError", "HttpStatusError", "InvalidJsonError"]

_LOGGER = logging.getLogger("databay.HttpInlet")


class HttpInletError(RuntimeError):
    """A request of an HttpInlet failed: unreachable host, timeout, TLS or protocol error."""


class HttpStatusError(HttpInletError):
    """The server answered with a status of 400 or more; the body is not delivered as data."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class InvalidJsonError(HttpInletError, ValueError):
    """The body is not valid JSON although the inlet expects JSON."""


def redact(url: str) -> str:
    """The URL without user and password, fit for logs and error messages."""
    parsed = URL(url)
    return str(parsed.with_user(None)) if parsed.user or parsed.password else url


class HttpInlet(Inlet):
    """Inlet for pulling data from a URL using aiohttp.

    :param url: URL to query.
    :param json: parse the response as JSON (a JSON list gives one record per element).
    :param cacert: path of a CA bundle to verify TLS against.
    :param params: query parameters of the request.
    :param headers: headers of the request.
    :param metadata: global metadata of the records, as for any :class:`~databay.inlet.Inlet`.
    :param timeout: seconds a request may take in total.
    """

    def __init__(
        self,
        url: str,
        json: bool = True,
        cacert: str | None = None,
        params: dict | None = None,
        headers: LooseHeaders | None = None,
        metadata: dict | None = None,
        *,
        timeout: float = 30.0,
    ):
        super().__init__(metadata)
        self.url = url
        self.json = json
        self.cacert = cacert
        self.params = params
        self.headers = headers
        self.timeout = timeout
        self._public_url = redact(url)
        self._ssl: ssl.SSLContext | bool = ssl.create_default_context(cafile=cacert) if cacert else True
        self._sessions = SessionPool(self._new_session)

    def _new_session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            headers=self.headers,
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            connector=aiohttp.TCPConnector(ssl=self._ssl),
        )

    async def pull(self, update: Any) -> Any:
        """Request the URL; return the parsed JSON, the text, or no records for an empty body.

        :raises HttpStatusError: status 400 or more.
        :raises InvalidJsonError: the body is not valid JSON.
        :raises HttpInletError: the request could not be made or timed out.
        """
        _LOGGER.info("%s pulling %s", update, self._public_url)
        try:
            async with self._sessions.session() as session, session.get(self.url, params=self.params) as response:
                body = await response.read()
                if response.status >= 400:
                    raise HttpStatusError(
                        f"{self._public_url} answered {response.status} {response.reason}", response.status
                    )
                charset = response.charset or "utf-8"
        except aiohttp.ClientError as error:
            raise HttpInletError(f"Request to {self._public_url} failed: {error}") from error
        except TimeoutError as error:
            raise HttpInletError(f"Request to {self._public_url} timed out after {self.timeout}s") from error
        _LOGGER.info("%s received %s", update, self._public_url)
        if not body.strip():
            return []
        text = body.decode(charset, errors="replace")
        if not self.json:
            return text
        try:
            return jsonlib.loads(text)
        except ValueError as error:
            raise InvalidJsonError(
                f"The body from {self._public_url} is not valid JSON ({error}); it starts: {text[:120]!r}"
            ) from None

    def on_shutdown(self) -> None:
        """Close the pooled connections."""
        self._sessions.close()

    def __repr__(self) -> str:
        return f"HttpInlet(metadata:{self.metadata})"
