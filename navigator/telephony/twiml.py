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
import logging

from flask import Response, abort, current_app, request
from twilio.request_validator import RequestValidator

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
    validator = RequestValidator(token)
    # Twilio signed what it sent: the form before clean_input removed control characters.
    form = getattr(request, "raw_form", request.form)
    return validator.validate(public_url(), form.to_dict(flat=True), signature)


def xml(twiml) -> Response:
    """A TwiML object from the SDK as a ``200 text/xml`` response."""
    return Response(str(twiml), status=200, mimetype="text/xml")


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
