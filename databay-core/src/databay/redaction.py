"""Keeping secrets out of logs, reprs and error messages.

A URL's userinfo (``user:password@``) and the values of query parameters whose names look
secret become ``***``; free text (an error message, a traceback) gets the same treatment for
every URL in it, plus the literal secret values its caller knows. Stdlib only: databay-http
and databay-mongo build on it, and so can third-party nodes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import SplitResult, quote, quote_plus, unquote_plus, urlsplit, urlunsplit

__all__ = ["MASK", "SECRET_WORDS", "is_secret_name", "redact_text", "redact_url", "url_secrets"]

MASK = "***"
"""What a secret is replaced with."""

SECRET_WORDS = ("key", "token", "secret", "password", "passwd", "auth", "signature", "sig", "credential", "session")
"""Words that make a parameter, header or option name look secret (see :func:`is_secret_name`)."""

_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>`]+")
_LOOSE_USERINFO = re.compile(r"(?<=://)[^?#\s]*@")  # in a URL that does not parse: up to the last '@'
_MIN_LITERAL = 4  # shorter literal values would mask unrelated text; URLs are still masked by structure


def is_secret_name(name: str) -> bool:
    """Whether a value named ``name`` likely is a secret.

    Any case, any prefix: the name is split into words (at non-alphanumerics and lower-to-upper
    case changes) and looks secret when a word starts with one of :data:`SECRET_WORDS` or the
    whole name ends with one (``api_key``, ``apiKey``, ``apikey``, ``access_token``,
    ``X-Amz-Signature``, ``Authorization``, ``sessionid``). It errs on the safe side:
    ``keyword`` counts too.
    """
    words = _NOT_ALNUM.split(_CAMEL.sub(r"\1 \2", name).lower())
    if any(word.startswith(SECRET_WORDS) for word in words):
        return True
    compact = "".join(words)
    return compact.endswith(SECRET_WORDS) or compact.endswith(tuple(word + "s" for word in SECRET_WORDS))


def redact_url(url: str) -> str:
    """``url`` with its userinfo and the values of secret-looking query (and fragment)
    parameters replaced by ``***``: ``https://***@host/path?api_key=***&page=2``.

    A string that does not parse as a URL (an unescaped ``/`` in a password makes the rest of
    the password look like a path) is masked from ``://`` up to the last ``@`` before its query,
    and its ``name=value`` pairs after ``?`` as above.
    """
    parts = _split(url)
    if parts is None:
        head, mark, tail = _LOOSE_USERINFO.sub(MASK + "@", url, count=1).partition("?")
        return head + mark + _redact_pairs(tail) if mark else head
    netloc = parts.netloc
    if "@" in netloc:
        netloc = MASK + "@" + netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, _redact_pairs(parts.query), _redact_pairs(parts.fragment)))


def _split(url: str) -> SplitResult | None:
    """``urlsplit(url)``, or None when the URL does not parse or its port is not a number."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        return None
    return parts


def _redact_pairs(query: str) -> str:
    if "=" not in query:
        return query
    pairs = []
    for pair in query.split("&"):
        name, equals, value = pair.partition("=")
        pairs.append(f"{name}={MASK}" if equals and value and is_secret_name(unquote_plus(name)) else pair)
    return "&".join(pairs)


def url_secrets(url: str) -> set[str]:
    """The secret values in ``url`` (userinfo, secret-looking parameter values), as written and
    decoded: what :func:`redact_text` should mask wherever it meets them."""
    secrets: set[str] = set()
    parts = _split(url)
    if parts is None:
        found = _LOOSE_USERINFO.search(url)
        userinfo = found.group(0)[:-1] if found else ""
        queries = [url.partition("?")[2].partition("#")[0], url.partition("#")[2]]
    else:
        userinfo = parts.netloc.rpartition("@")[0]
        queries = [parts.query, parts.fragment]
    if userinfo:
        for piece in (userinfo, *userinfo.split(":", 1)):
            secrets.update((piece, unquote_plus(piece)))
    for query in queries:
        for pair in query.split("&"):
            name, equals, value = pair.partition("=")
            if equals and value and is_secret_name(unquote_plus(name)):
                secrets.update((value, unquote_plus(value)))
    secrets.discard("")
    return secrets


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every URL in it redacted (:func:`redact_url`) and every occurrence of the
    given secret values (also percent-encoded) replaced by ``***``.

    Values shorter than four characters are left to the URL rule: masking them everywhere would
    mask unrelated text.
    """
    literals: set[str] = set()
    for secret in secrets:
        if len(secret) >= _MIN_LITERAL:
            literals.update((secret, quote(secret, safe=""), quote_plus(secret, safe="")))
    for literal in sorted(literals, key=len, reverse=True):
        text = text.replace(literal, MASK)
    return _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)
