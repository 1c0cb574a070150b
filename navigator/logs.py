"""Logging that keeps patient data out: no bodies, names or phone numbers.

Modules log ids (message SIDs, row ids, rule ids) only. As a second guard, a filter
masks anything that looks like a phone number before a record is written, and
werkzeug's request lines drop query strings, which can carry a caller's number.
"""

from __future__ import annotations

import logging
import re
import traceback

from .config import LOG_LEVELS, ConfigError

# E.164 (+16175550143) or a North American number as people write it ((617) 555-0143).
PHONE = re.compile(
    r"(?<![A-Za-z0-9])(?:\+\d{8,15}|\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4})(?![A-Za-z0-9])"
)


class RedactPhones(logging.Filter):
    """Masks phone-number-like runs of digits in every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = PHONE.sub("[number]", message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class RedactingFormatter(logging.Formatter):
    """Masks numbers in the whole formatted record, tracebacks included.

    Database errors quote the row they failed on ("Key (phone)=(+1617...)"), so the
    traceback of an exception is as much a risk as the message.
    """

    def format(self, record: logging.LogRecord) -> str:
        return PHONE.sub("[number]", super().format(record))


def failure(exc: BaseException) -> str:
    """An exception as the logs may hold it: its type, database error code and where.

    Never its message: a database error quotes the values it failed on (PostgreSQL's
    "Failing row contains (...)" can hold a whole text message), and a chained cause may
    too. The frames name files, lines and code, never data.
    """
    original = getattr(exc, "orig", None)
    code = getattr(original, "sqlstate", None) or getattr(original, "sqlite_errorname", None)
    kind = type(original or exc).__name__ + (f" ({code})" if code else "")
    frames = traceback.extract_tb(exc.__traceback__)
    where = "".join(traceback.format_list(frames)).rstrip()
    return f"{kind}\n{where}" if where else kind


def init_app(app) -> None:
    name = str(app.config["LOG_LEVEL"]).upper()
    if name not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {name!r}")
    level = logging.getLevelName(name)
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactPhones())
    root = logging.getLogger("navigator")
    if not any(isinstance(f, RedactPhones) for h in root.handlers for f in h.filters):
        root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False  # one handler, the redacting one
    for name in ("werkzeug", "gunicorn.access", "twilio.http_client"):
        logging.getLogger(name).addFilter(RedactPhones())
    # The twilio SDK logs request bodies (which hold message text) at INFO.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
