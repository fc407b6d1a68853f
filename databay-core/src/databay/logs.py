"""databay's default log handler: ``2020-07-30 19:51:41.318|D| http_to_mongo.0 transfer (databay.Link)``."""

from __future__ import annotations

import logging
import time
import traceback
from typing import TextIO

from databay.redaction import redact_text

__all__ = ["ISO8601Formatter", "install_default_handler", "log_failure", "redacted_traceback"]

LOG_FORMAT = "%(asctime)s|%(levelname).1s| %(message)s (%(name)s)"


class ISO8601Formatter(logging.Formatter):
    """Formats times as ``%Y-%m-%d %H:%M:%S.mmm`` (pretty) or ISO 8601 ``T``/offset form."""

    def __init__(self, fmt: str = LOG_FORMAT, pretty: bool = True):
        super().__init__(fmt)
        self.pretty = pretty

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = self.converter(record.created)
        if self.pretty:
            return f"{time.strftime('%Y-%m-%d %H:%M:%S', moment)}.{int(record.msecs):03d}"
        return f"{time.strftime('%Y-%m-%dT%H:%M:%S', moment)}.{int(record.msecs):03d}{time.strftime('%z', moment)}"


class _DefaultHandler(logging.StreamHandler[TextIO]):
    """Marks the handler databay installed, so importing twice never installs two."""


def install_default_handler() -> None:
    """Give the ``databay`` logger its documented handler and default WARNING level, once."""
    logger = logging.getLogger("databay")
    if any(isinstance(handler, _DefaultHandler) for handler in logger.handlers):
        return
    handler = _DefaultHandler()
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(ISO8601Formatter())
    logger.addHandler(handler)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)


def log_failure(logger: logging.Logger, error: BaseException, message: str, *args: object) -> None:
    """One ERROR line for a failure; its traceback only at DEBUG. Both are redacted
    (:func:`~databay.redaction.redact_text`): an error's message, and the repr of the node it
    names, often hold the URL it failed to reach, credentials included.

    A refused connection repeated every second must not fill a log with 60-line tracebacks;
    whoever needs them turns DEBUG on.
    """
    logger.error(redact_text(message % args if args else message))
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("Traceback of the error above:\n%s", redacted_traceback(error))


def redacted_traceback(error: BaseException) -> str:
    """``error``'s traceback as the logging module prints it (chained causes and notes included),
    without a newline at the end, with every URL's credentials masked."""
    return redact_text("".join(traceback.format_exception(error)).rstrip("\n"))
