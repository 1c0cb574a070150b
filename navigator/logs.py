"""Logging that keeps patient data out: no bodies, names or phone numbers.

Modules log ids (message SIDs, row ids, rule ids) only. As a second guard, a filter
masks anything that looks like a phone number before a record is written, and
werkzeug's request lines drop query strings, which can carry a caller's number.
"""

from __future__ import annotations

import logging
import re

PHONE = re.compile(r"\+?\d[\d\-\s().]{8,}\d")


class RedactPhones(logging.Filter):
    """Masks phone-number-like runs of digits in every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = PHONE.sub("[number]", message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def init_app(app) -> None:
    level = getattr(logging, app.config.get("LOG_LEVEL", "INFO"), logging.INFO)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactPhones())
    root = logging.getLogger("navigator")
    if not any(isinstance(f, RedactPhones) for h in root.handlers for f in h.filters):
        root.addHandler(handler)
    root.setLevel(level)
    for name in ("werkzeug", "gunicorn.access", "twilio.http_client"):
        logging.getLogger(name).addFilter(RedactPhones())
    # The twilio SDK logs request bodies (which hold message text) at INFO.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
