"""What every Twilio webhook shares: the signature check and the TwiML response.

Twilio signs each request with ``X-Twilio-Signature``, an HMAC of the public URL it
called plus the POST parameters, keyed by the auth token. We check it on every webhook,
in every mode, and answer 403 when it does not match. Behind a proxy the URL Flask sees
is not the one Twilio called, so the check uses ``PUBLIC_BASE_URL`` when it is set
(or ProxyFix's view of the request when ``TRUSTED_PROXIES`` is).

Twilio must always get ``200 text/xml`` with valid TwiML, or the patient hears "an
application error has occurred". ``webhook`` turns any failure inside a handler into the
apology that the handler's channel provides.
"""

from __future__ import annotations

import functools
import json
import logging
from urllib.parse import urlparse

from flask import Response, abort, current_app, request
from twilio.request_validator import RequestValidator, add_port, compare, remove_port

from .. import logs
from ..extensions import db

log = logging.getLogger(__name__)


def public_url() -> str:
    """The URL Twilio called, as Twilio saw it."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        path = request.full_path if request.query_string else request.path
        return base + path
    return request.url


def signature_is_valid() -> bool:
    token = current_app.config["TWILIO_AUTH_TOKEN"]
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    # Twilio signed what it sent: the form before clean_input removed control characters.
    form = getattr(request, "raw_form", request.form)
    return _signed(_validator(token), public_url(), form.to_dict(flat=True), signature)


@functools.lru_cache(maxsize=4)
def _validator(token: str) -> RequestValidator:
    return RequestValidator(token)


def _signed(validator: RequestValidator, url: str, params: dict, signature: str) -> bool:
    """``validator.validate(url, params, signature)`` for a form's ``params``, with the same
    answer: the SDK computes the HMAC of the URL without its port and of the URL with it,
    and accepts either; this stops at the first that matches (half the work for the usual
    request, whose URL Twilio signed as we see it)."""
    parsed = urlparse(url)
    return any(
        compare(validator.compute_signature(candidate, params), signature)
        for candidate in (remove_port(parsed), add_port(parsed))
    )


def xml(twiml) -> Response:
    """A TwiML object from the SDK as a ``200 text/xml`` response."""
    return Response(_utf8(twiml), status=200, mimetype="text/xml")


_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
_CDATA = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ATTRIBUTE = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\r": "&#13;",
        "\n": "&#10;",
        "\t": "&#09;",
    }
)


def written(twiml) -> str:
    """``str(twiml)`` for a TwiML object of the SDK: the same bytes, written straight.

    The SDK builds an ElementTree of the object and serialises it, a fifth of the CPU of a
    call step that speaks a menu. This writes the object's own parts (sorted attributes,
    text, children, the text after a child) with ElementTree's escaping and empty-element
    form; tests/test_twiml.py checks it against the SDK for every menu node, the steps
    every call shares and each webhook of a call. Text the SDK would write as character
    references (a lone surrogate) is left to the SDK.
    """
    return _utf8(twiml).decode("utf-8")


def _utf8(twiml) -> bytes:
    """``written(twiml)`` as the bytes a response carries, encoded once."""
    out: list[str] = [_DECLARATION]
    _write(twiml, out)
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError:
        return str(twiml).encode("utf-8")


def _write(node, out: list[str]) -> None:
    """The SDK's ``node.xml()`` and ElementTree's ``_serialize_xml`` as one walk."""
    name = node.name
    out.append("<" + name)
    for key in sorted(node.attrs):
        value = node.attrs[key]
        value = str(value).lower() if isinstance(value, bool) else str(value)
        out.append(f' {key}="{value.translate(_ATTRIBUTE)}"')
    if node.value and isinstance(node.value, dict):
        node.value = json.dumps(node.value)  # as the SDK's xml() does
    text = node.value or None
    children: list = []  # [child, the text after it]
    for verb in node.verbs:
        if isinstance(verb, str):
            if children:
                children[-1][1] = verb  # the SDK keeps the last text after a child
            else:
                text = verb
        else:
            children.append([verb, None])
    if not text and not children:
        out.append(" />")
        return
    out.append(">")
    if text:
        out.append(text.translate(_CDATA))
    for child, after in children:
        _write(child, out)
        if after:
            out.append(after.translate(_CDATA))
    out.append(f"</{name}>")


def messages_xml(texts: list[str]) -> Response:
    """``xml`` of a ``MessagingResponse`` with one ``<Message>`` per text: the same bytes
    as the SDK writes (it escapes ``&``, ``<`` and ``>`` in text, and writes an element
    without content as ``<Name />``), without building its element tree for every
    reply to a text."""
    if not texts:
        return Response(_DECLARATION + "<Response />", status=200, mimetype="text/xml")
    body = "".join(
        f"<Message>{text.translate(_CDATA)}</Message>" if text else "<Message />" for text in texts
    )
    return Response(f"{_DECLARATION}<Response>{body}</Response>", status=200, mimetype="text/xml")


def webhook(apology):
    """Decorate a Twilio webhook: check the signature, and never let an error escape.

    ``apology()`` builds the TwiML sent when the handler fails; it must not touch the
    database (the failure may be the database).
    """

    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not signature_is_valid():
                log.warning("rejected %s: bad or missing Twilio signature", request.path)
                abort(403)
            try:
                return view(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - Twilio must get TwiML whatever failed
                # Never log.exception: a database error quotes the row it failed on, and
                # that row may be a patient's text. Type, code and place are enough.
                log.error(
                    "webhook %s failed; sent the apology: %s", request.endpoint, logs.failure(exc)
                )
                _rollback()
                return xml(apology())

        return wrapped

    return decorate


def _rollback() -> None:

    try:
        db.session.rollback()
    except Exception as exc:  # noqa: BLE001 - the apology must still go out
        log.error("rollback after a webhook failure also failed: %s", logs.failure(exc))
