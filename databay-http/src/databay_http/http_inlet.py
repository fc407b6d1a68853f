"""HttpInlet: produces records from what a URL returns (JSON or text), over aiohttp.

aiohttp (with yarl and multidict) is imported by the first request, not with this module: a
process that loads every installed plugin but pulls no URL never holds its objects.
"""

from __future__ import annotations

import json as jsonlib
import logging
import ssl
import traceback
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from databay.inlet import Inlet
from databay.redaction import is_secret_name, redact_text, redact_url, url_secrets
from databay_http.sessions import SessionPool

if TYPE_CHECKING:
    import aiohttp
    from aiohttp.typedefs import LooseHeaders
else:  # what pipeline files' argument checks evaluate ``headers``' annotation to, without aiohttp
    LooseHeaders = Mapping[str, str] | Iterable[tuple[str, str]]

__all__ = ["HttpInlet", "HttpInletError", "HttpStatusError", "InvalidJsonError", "ResponseTooLargeError"]

_LOGGER = logging.getLogger("databay.HttpInlet")

MiB = 1024 * 1024
_CHUNK = 256 * 1024


class HttpInletError(RuntimeError):
    """A request of an HttpInlet failed: unreachable host, timeout, TLS or protocol error.

    The message is one line naming the inlet, the redacted URL and the cause; the underlying
    aiohttp exception is not chained (its text may hold the URL's secrets) and its traceback,
    redacted, is logged at DEBUG by ``databay.HttpInlet``.
    """


class HttpStatusError(HttpInletError):
    """The server answered with a status of 400 or more; the body is not delivered as data."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class InvalidJsonError(HttpInletError, ValueError):
    """The body is not valid JSON although the inlet expects JSON."""


class ResponseTooLargeError(HttpInletError):
    """The body is larger than the inlet's ``max_bytes``; reading stopped there."""


class HttpInlet(Inlet):
    """Inlet for pulling data from a URL using aiohttp.

    :param url: URL to query.
    :param json: parse the response as JSON (a JSON list gives one record per element).
    :param cacert: path of a CA bundle to verify TLS against.
    :param params: query parameters of the request.
    :param headers: headers of the request (never logged).
    :param metadata: global metadata of the records, as for any :class:`~databay.inlet.Inlet`.
    :param timeout: seconds a request may take in total, body included.
    :param connect_timeout: seconds to get a connection (from the pool or a new one).
    :param max_bytes: the largest body read, in bytes (after decompression); a larger one
        raises :class:`ResponseTooLargeError` without being read further. None: no limit.

    Logs, error messages and reprs show the URL redacted (:mod:`databay.redaction`): userinfo
    and the values of secret-looking query parameters (``api_key``, ``access_token``, ...)
    appear as ``***``.
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
        connect_timeout: float = 10.0,
        max_bytes: int | None = 64 * MiB,
    ):
        super().__init__(metadata)
        self.url = url
        self.json = json
        self.cacert = cacert
        self.params = params
        self.headers = headers
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_bytes = max_bytes
        self._ssl: ssl.SSLContext | bool = ssl.create_default_context(cafile=cacert) if cacert else True
        self._sessions = SessionPool(self._new_session)

    def _new_session(self) -> aiohttp.ClientSession:
        import aiohttp

        return aiohttp.ClientSession(
            headers=self.headers,
            timeout=aiohttp.ClientTimeout(total=self.timeout, connect=self.connect_timeout),
            connector=aiohttp.TCPConnector(ssl=self._ssl),
        )

    @property
    def public_url(self) -> str:
        """The URL requested, query parameters included, with its secrets as ``***``."""
        if not self.params:
            return redact_url(self.url)
        from yarl import URL

        try:
            url = str(URL(self.url).extend_query(self.params))
        except (TypeError, ValueError):  # parameters aiohttp will refuse too; show the URL alone
            url = self.url
        return redact_url(url)

    def _secrets(self) -> set[str]:
        """Every secret value this inlet knows of, to mask in third-party error texts."""
        from multidict import CIMultiDict

        secrets = url_secrets(self.url)
        named = [*(self.params or {}).items(), *CIMultiDict(self.headers or {}).items()]
        secrets.update(str(value) for name, value in named if is_secret_name(str(name)))
        return secrets

    async def pull(self, update: Any) -> Any:
        """Request the URL; return the parsed JSON, the text, or no records for an empty body.

        :raises HttpStatusError: status 400 or more.
        :raises ResponseTooLargeError: the body is larger than ``max_bytes``.
        :raises InvalidJsonError: the body is not valid JSON.
        :raises HttpInletError: the request could not be made or timed out.
        """
        import aiohttp

        public_url = self.public_url
        _LOGGER.info("%s pulling %s", update, public_url)
        failure: HttpInletError | None = None
        try:
            async with self._sessions.session() as session, session.get(self.url, params=self.params) as response:
                if response.status >= 400:  # the body is not read: it is no data, and may be huge
                    raise HttpStatusError(
                        f"{self!r}: GET {public_url} answered {response.status} {response.reason}", response.status
                    )
                body = await self._read(response, public_url)
                charset = response.charset or "utf-8"
        except TimeoutError as error:  # before ClientError: aiohttp's timeouts are both
            if isinstance(error, aiohttp.ConnectionTimeoutError):
                cause = f"connecting timed out after {self.connect_timeout}s"
            else:
                cause = f"timed out after {self.timeout}s"
            failure = self._failed(error, update, public_url, cause)
        # ValueError, TypeError: aiohttp refusing the request's arguments (a header clash, a parameter's type)
        except (aiohttp.ClientError, ValueError, TypeError) as error:
            failure = self._failed(error, update, public_url)
        if failure is not None:
            raise failure  # outside the except blocks: no third-party exception in the chain
        _LOGGER.info("%s received %s", update, public_url)
        if not body.strip():
            return []
        text = body.decode(charset, errors="replace")
        if not self.json:
            return text
        try:
            return jsonlib.loads(text)
        except ValueError as error:
            raise InvalidJsonError(
                f"{self!r}: the body from {public_url} is not valid JSON ({error}); it starts: {text[:120]!r}"
            ) from None

    async def _read(self, response: aiohttp.ClientResponse, public_url: str) -> bytes:
        """The body, read in chunks, at most ``max_bytes`` of it."""
        limit = self.max_bytes
        if limit is not None and response.content_length is not None and response.content_length > limit:
            response.close()
            raise ResponseTooLargeError(
                f"{self!r}: the body from {public_url} is larger than max_bytes={limit} "
                f"({_size(limit)}): it announces {response.content_length} bytes; not read"
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if limit is not None and size > limit:
                response.close()
                raise ResponseTooLargeError(
                    f"{self!r}: the body from {public_url} is larger than max_bytes={limit} "
                    f"({_size(limit)}); stopped reading after {size} bytes"
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _failed(self, error: BaseException, update: Any, public_url: str, cause: str | None = None) -> HttpInletError:
        """The inlet's own error for an aiohttp one: one redacted line; the traceback, redacted, at DEBUG."""
        secrets = self._secrets()
        if _LOGGER.isEnabledFor(logging.DEBUG):
            _LOGGER.debug(
                "%s request failed:\n%s", update, redact_text("".join(traceback.format_exception(error)), secrets)
            )
        if cause is None:
            cause = f"failed: {type(error).__name__}: {redact_text(str(error), secrets)}"
        return HttpInletError(f"{self!r}: GET {public_url} {cause}")

    def on_shutdown(self) -> None:
        """Close the pooled connections."""
        self._sessions.close()

    def __repr__(self) -> str:
        return f"HttpInlet(metadata:{self.metadata})"


def _size(count: int) -> str:
    return f"{count / MiB:g} MiB"
