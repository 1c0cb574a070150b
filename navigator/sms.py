"""Inbound texts and delivery reports: the SMS renderer of the conversation.

Each webhook is thin: check the signature, parse the form, ask the conversation what
the text means, carry out its effects, render the replies as TwiML ``<Message>``s.
"""

from __future__ import annotations

import logging

from flask import Blueprint, request
from twilio.twiml.messaging_response import MessagingResponse

from . import delivery, durable_inbound, gsm, menus, outcomes, turns
from .content import LANGUAGES, catalog
from .conversation import Facts, Say, Show, engine_for
from .extensions import csrf, db
from .menus import Position
from .models import Contact, Message, Patient, utcnow
from .phones import sender
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
        texts = converse(sid, phone, body, now)
    except Exception as exc:  # noqa: BLE001 - the text is kept and the patient answered
        durable_inbound.keep_text(sid, phone, body, now, exc)
        if flag is None:
            return xml(apology())
        texts = render([Say(f"redflags.{flag.rule}.text")], flag.language)
    else:
        durable_inbound.drain_soon()
    return xml(_messages(texts))


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
    return xml(_messages(render([Say(f"redflags.{flag.rule}.text")], flag.language)))


def _messages(texts: list[str]) -> MessagingResponse:
    response = MessagingResponse()
    for text in texts:
        response.message(text)
    return response


def converse(sid: str, phone: str, body: str, now, *, answering: bool = True) -> list[str]:
    """Store one inbound text, carry out its turn, and return the replies to send.

    ``answering=False`` is for a text stored late (from the spool): its effects are carried
    out but no reply is stored, because the patient got the apology or the advice instead.
    Returns no replies for a text already handled.
    """
    turn = turns.open_turn(sid, phone, body, now)
    if turn is None:
        log.info("inbound SMS %s seen before: no second effect", sid)
        return []

    here = Position(turn.menu_node or menus.MAIN, turn.menu_page or 0)
    facts = Facts(turn.language, turn.language_chosen, turn.opted_out, turn.patient_id is not None)
    outcome = engine_for(catalog()).text(here, body, facts)
    if _plain(outcome, turn):
        replies = list(outcome.replies)
        if outcome.effect("next_appointment"):
            replies += outcomes.next_appointment_replies(None, outcome.language, now, "sms")
        review = outcome.effect("review") and outcome.reading
        texts = render(replies, outcome.language)
        turns.close_turn(
            turn,
            phone,
            node=outcome.position.node,
            page=outcome.position.page,
            language=outcome.language,
            texts=texts if answering else [],
            content_key=_first_key(replies),
            now=now,
            reading=review or None,
        )
    else:
        texts = _finish_with_effects(turn, phone, body, outcome, now, answering)
    log.info(
        "inbound SMS %s handled: %d replies, effects=%s",
        sid,
        len(texts),
        ",".join(e.kind for e in outcome.effects) or "-",
    )
    return texts


def _plain(outcome, turn) -> bool:
    """A turn the closing statement of turns.py can carry out alone, without the ORM.

    Besides the position, two effects need nothing read first: keeping how an unsure text
    was read (for the coordinators' labelling page) and the next visit of a number that is
    no patient's ("we have no visit for this number"). These are most texts that are not
    plain menu steps, so they stay on the two-statement path. A change of language stays
    with the ORM when the number is a patient's (the patient's row changes too).
    """
    for effect in outcome.effects:
        if effect.kind == "review" or (
            effect.kind == "next_appointment" and turn.patient_id is None
        ):
            continue
        return False
    return turn.patient_id is None or outcome.language == turn.language


def _finish_with_effects(turn, phone: str, body: str, outcome, now, answering: bool) -> list[str]:
    """A turn that changes more than the position: carried out in one ORM transaction,
    together with the mark that the text was handled."""
    contact = db.session.get(Contact, turn.contact_id)
    patient = db.session.get(Patient, turn.patient_id) if turn.patient_id else None
    message = db.session.get(Message, turn.message_id)
    replies = outcomes.apply(outcome, contact, patient, now=now, inbound=message, message_text=body)
    texts = render(replies, outcome.language)
    for text in texts if answering else []:
        db.session.add(
            Message(
                direction="out",
                channel="sms",
                phone=phone,
                body=text,
                patient_id=turn.patient_id,
                transport="reply",
                status="sent",
                content_key=_first_key(replies),
                created_at=now,
            )
        )
    message.status = turns.HANDLED
    db.session.commit()
    return texts


def _first_key(replies: list) -> str | None:
    for reply in replies:
        if isinstance(reply, Say):
            return reply.key
        if isinstance(reply, Show):
            return f"topics.{reply.position.node}"
    return None


def render(replies: list, language: str) -> list[str]:
    """The replies as texts, packed into as few messages of at most 320 characters as fit.

    Replies can carry what a coordinator typed (a visit's place, a site's preparation
    notes), so every filled-in value is made safe for the language first (GSM-7 for
    English, see gsm.py; our own words are checked by tests), and a reply longer than 320
    characters is cut between words into several messages.
    """
    words = catalog()
    values = outcomes.common_values()
    parts = []
    for reply in replies:
        if isinstance(reply, Say):
            safe = {
                name: gsm.for_language(value, language) if isinstance(value, str) else value
                for name, value in reply.values.items()
            }
            text = words.render(reply.key, language, **{**values, **safe})
        else:
            text = node_text(reply.position, language)
        parts.extend(gsm.split(text, MAX_SMS))
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
