"""Inbound texts and delivery reports: the SMS renderer of the conversation.

Each webhook is thin: check the signature, parse the form, ask the conversation what
the text means, carry out its effects, render the replies as TwiML ``<Message>``s.
"""

from __future__ import annotations

import logging

from flask import Blueprint, request
from twilio.twiml.messaging_response import MessagingResponse

from ..catalog import catalog, site_values
from ..core.content import LANGUAGES
from ..core.engine import Say
from ..core.phones import sender
from ..extensions import csrf, db
from ..models import utcnow
from ..telephony import delivery
from ..telephony.twiml import messages_xml, webhook, xml
from . import durable_inbound, texting

log = logging.getLogger(__name__)
bp = Blueprint("sms", __name__, url_prefix="/twilio")
csrf.exempt(bp)


def apology() -> MessagingResponse:
    """Sent when handling a text fails: sorry, and how to reach a person, in both languages.

    It touches no database (the failure may be the database) and so cannot know the
    person's language.
    """
    words = catalog()
    response = MessagingResponse()
    for language in LANGUAGES:
        response.message(words.render("prompts.sms.apology", language, **site_values()))
    return response


@bp.post("/sms")
@webhook(apology)
def inbound():
    """Twilio posts here for every text to the navigator's number.

    Sample payload: ``MessageSid=SM5f...&AccountSid=AC...&From=%2B16175550143&To=%2B12025550100
    &Body=what+is+her2&NumMedia=0``. Twilio retries on timeouts, so a MessageSid handled
    before is acknowledged with an empty response and changes nothing.

    The warning-sign screen runs first, on the words alone. If storing the text or its
    effects then fails (the database down, hung or failing), the text is kept in the local
    spool and the patient still gets the safety advice, or the apology (durable_inbound).
    """
    sid = request.form.get("MessageSid", "").strip()
    # A sender that is not a valid number (a short code, a new range) is still recorded,
    # screened and answered; it is never an enrolled patient, so it gets general information.
    phone = sender(request.form.get("From", ""))
    if not sid or not phone:
        log.warning("inbound SMS without a MessageSid or a From: ignored")
        return xml(MessagingResponse())
    body = request.form.get("Body", "")[:1600]
    now = utcnow()
    flag = durable_inbound.first_screen(body)
    try:
        texts = texting.converse(sid, phone, body, now)
    except Exception as exc:  # noqa: BLE001 - the text is kept and the patient answered
        durable_inbound.keep_text(sid, phone, body, now, exc)
        if flag is None:
            return xml(apology())
        texts = texting.render([Say(f"redflags.{flag.rule}.text")], flag.language)
    else:
        durable_inbound.drain_soon()
    return messages_xml(texts)


@bp.post("/sms/fallback")
@webhook(apology)
def fallback():
    """Twilio's fallback URL for texts: called when ``/twilio/sms`` failed or timed out.

    It never touches the database (that may be what failed): the text is kept in the spool
    and stored when the database answers again, and the patient gets the safety advice when
    there is a warning sign, the apology with the care team's number otherwise.
    """
    sid = request.form.get("MessageSid", "").strip()
    phone = sender(request.form.get("From", ""))
    if not sid or not phone:
        return xml(apology())
    body = request.form.get("Body", "")[:1600]
    flag = durable_inbound.first_screen(body)
    durable_inbound.keep_text(sid, phone, body, utcnow(), reason="fallback URL")
    if flag is None:
        return xml(apology())
    return messages_xml(texting.render([Say(f"redflags.{flag.rule}.text")], flag.language))


@bp.post("/status")
@webhook(lambda: MessagingResponse())
def status():
    """Delivery reports for messages we sent.

    Sample payload: ``MessageSid=SM...&MessageStatus=delivered&ErrorCode=&To=%2B1617...``.
    Reports may arrive out of order; a later state is never overwritten by an earlier one.
    """
    sid = request.form.get("MessageSid", "").strip()
    state = request.form.get("MessageStatus", "").strip().lower()
    if not sid or not state:
        log.warning("status callback without MessageSid or MessageStatus: ignored")
        return xml(MessagingResponse())
    delivery.record(sid, state, request.form.get("ErrorCode") or None, now=utcnow())
    db.session.commit()
    return xml(MessagingResponse())
