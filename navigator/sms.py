"""Inbound texts and delivery reports: the SMS renderer of the conversation.

Each webhook is thin: check the signature, parse the form, ask the conversation what
the text means, carry out its effects, render the replies as TwiML ``<Message>``s.
"""

from __future__ import annotations

import logging

from flask import Blueprint, request
from twilio.twiml.messaging_response import MessagingResponse

from . import delivery, menus, outcomes
from .content import LANGUAGES, catalog
from .conversation import Facts, Say, Show, engine_for
from .extensions import csrf, db
from .menus import Position
from .models import Message, insert, utcnow
from .patients import contact_for, patient_for
from .phones import InvalidPhone, to_e164
from .twiml import webhook, xml

log = logging.getLogger(__name__)
bp = Blueprint("sms", __name__, url_prefix="/twilio")
csrf.exempt(bp)

MAX_SMS = 320  # characters per message we send (about 2 to 3 segments)


def apology() -> MessagingResponse:
    """Sent when handling a text fails: sorry, and how to reach a person, in both languages.

    It touches no database (the failure may be the database) and so cannot know the
    person's language.
    """
    words = catalog()
    response = MessagingResponse()
    for language in LANGUAGES:
        response.message(words.render("prompts.sms.apology", language, **outcomes.common_values()))
    return response


@bp.post("/sms")
@webhook(apology)
def inbound():
    """Twilio posts here for every text to the navigator's number.

    Sample payload: ``MessageSid=SM5f...&AccountSid=AC...&From=%2B16175550143&To=%2B12025550100
    &Body=what+is+her2&NumMedia=0``. Twilio retries on timeouts, so a MessageSid seen
    before is acknowledged with an empty response and changes nothing.
    """
    sid = request.form.get("MessageSid", "").strip()
    try:
        phone = to_e164(request.form.get("From", ""))
    except InvalidPhone:
        phone = None
    if not sid or not phone:
        log.warning("inbound SMS without a MessageSid or a usable From: ignored")
        return xml(MessagingResponse())
    body = request.form.get("Body", "")[:1600]
    now = utcnow()
    message = record_inbound(sid, phone, body, now)
    if message is None:
        log.info("inbound SMS %s seen before: no second effect", sid)
        return xml(MessagingResponse())
    contact = contact_for(phone)
    patient = patient_for(phone)
    if patient is not None:
        message.patient_id = patient.id

    engine = engine_for(catalog())
    here = Position(contact.menu_node or menus.MAIN, contact.menu_page or 0)
    facts = Facts(contact.language, contact.language_chosen, contact.opted_out, patient is not None)
    outcome = engine.text(here, body, facts)
    replies = outcomes.apply(outcome, contact, patient, now=now, inbound=message, message_text=body)
    texts = render(replies, outcome.language)
    for text in texts:
        db.session.add(Message(direction="out", channel="sms", phone=phone, body=text,
                               patient_id=patient.id if patient else None, transport="reply",
                               status="sent", content_key=_first_key(replies)))
    db.session.commit()
    log.info("inbound SMS %s handled: %d replies, effects=%s", sid, len(texts),
             ",".join(e.kind for e in outcome.effects) or "-")
    response = MessagingResponse()
    for text in texts:
        response.message(text)
    return xml(response)


def record_inbound(sid: str, phone: str, body: str, now) -> Message | None:
    """Store the inbound text, or return None if this MessageSid was stored before.

    One statement (INSERT ... ON CONFLICT DO NOTHING RETURNING): Twilio's retries and
    two copies arriving at once both end here, and only the first one gets a row.
    """
    statement = (
        insert(Message)
        .values(direction="in", channel="sms", phone=phone, provider_sid=sid, body=body,
                status="received", created_at=now)
        .on_conflict_do_nothing(index_elements=["provider_sid"])
        .returning(Message)
    )
    return db.session.scalars(statement).first()


def _first_key(replies: list) -> str | None:
    for reply in replies:
        if isinstance(reply, Say):
            return reply.key
        if isinstance(reply, Show):
            return f"topics.{reply.position.node}"
    return None


def render(replies: list, language: str) -> list[str]:
    """The replies as texts, packed into as few messages of at most 320 characters as fit."""
    words = catalog()
    values = outcomes.common_values()
    parts = []
    for reply in replies:
        if isinstance(reply, Say):
            parts.append(words.render(reply.key, language, **{**values, **reply.values}))
        else:
            parts.append(node_text(reply.position, language))
    messages: list[str] = []
    for part in parts:
        if messages and len(messages[-1]) + 2 + len(part) <= MAX_SMS:
            messages[-1] += "\n\n" + part
        else:
            messages.append(part)
    return messages


def node_text(here: Position, language: str) -> str:
    """One page of a node: its text, then either its options or how to go on."""
    words = catalog()
    node = menus.node(words, here.node)
    pages = words.pages(f"topics.{node.id}.text", language) if not node.action else []
    page = pages[min(here.page, len(pages) - 1)] if pages else ""
    lines = [page] if page else []
    if node.children:
        lines.append(words.render("prompts.sms.menu_intro", language))
        for digit, child in enumerate(node.children, 1):
            label = words.render(f"topics.{child}.label", language)
            lines.append(words.render("prompts.sms.option", language, digit=digit, label=label))
        footer = "prompts.sms.footer_main" if node.id == menus.MAIN else "prompts.sms.footer_menu"
        lines.append(words.render(footer, language))
    elif here.page + 1 < len(pages):
        lines.append(words.render("prompts.sms.more", language))
    else:
        lines.append(words.render("prompts.sms.footer_topic", language))
    return "\n".join(lines)


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
