"""Odd but real input is kept, cleaned: control characters out of every form and query value.

Some carriers deliver the GSM "@" as a NUL byte, and a pasted text can carry other control
characters. PostgreSQL refuses NUL in text columns, so "chest pain\\x00" used to vanish
(neither stored nor alerted) and "STOP\\x00" was not honoured; the same byte in a search
box or a form gave a 500. Every value in ``request.form`` and ``request.args`` is cleaned
here, once, for every view: C0 and C1 control characters are removed (tab, line feed and
carriage return are kept), and the text is never dropped.

Twilio signs what it sent, not what we keep: the signature check reads ``raw_form``.
``MAX_CONTENT_LENGTH`` (config.py) bounds what a request may post at all.
"""

from __future__ import annotations

import re

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.utils import cached_property

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean(value: str) -> str:
    """``value`` without control characters (tab and line breaks are kept)."""
    return CONTROL.sub("", value)


def _cleaned(values) -> ImmutableMultiDict:
    return ImmutableMultiDict(
        [(clean(key), clean(value)) for key, value in values.items(multi=True)]
    )


class CleanRequest(Request):
    """Flask's request, whose ``form`` and ``args`` hold cleaned values."""

    def _load_form_data(self) -> None:
        super()._load_form_data()
        if "raw_form" not in self.__dict__:
            self.__dict__["raw_form"] = self.__dict__["form"]
            self.__dict__["form"] = _cleaned(self.__dict__["form"])

    @property
    def raw_form(self) -> ImmutableMultiDict:
        """The form exactly as posted (for the Twilio signature check only)."""
        self._load_form_data()
        return self.__dict__["raw_form"]

    @cached_property
    def args(self) -> ImmutableMultiDict:
        return _cleaned(super().args)


def init_app(app) -> None:
    app.request_class = CleanRequest
