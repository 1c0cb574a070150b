"""Logging that keeps patient data out: no bodies, names or phone numbers.

Modules log ids (message SIDs, row ids, rule ids) only. As a second guard, a filter
masks anything that looks like a phone number before a record is written, and
werkzeug's request lines drop query strings, which can carry a caller's number.
"""

from __future__ import annotations

import logging
import re

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


def init_app(app) -> None:
    level = getattr(logging, app.config.get("LOG_LEVEL", "INFO"), logging.INFO)
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
