"""One text's turn of the conversation: what a text means, its effects carried out, and
the replies rendered for SMS.

Shared by the SMS webhook (``sms``) and the durable inbound path, which replays a text
kept during an outage (``durable_inbound``) the same way; neither imports the other for it.
"""

from __future__ import annotations

import logging

from ..catalog import catalog, site_values
from ..core import gsm, menus
from ..core.engine import Facts, Say, Show, engine_for
from ..core.menus import Position
from ..extensions import db
from ..models import Contact, Message, Patient
from . import outcomes, turns

log = logging.getLogger(__name__)

MAX_SMS = 320  # characters per message we send (about 2 to 3 segments)


def converse(sid: str, phone: str, body: str, now, *, answering: bool = True) -> list[str]:
    """Store one inbound text, carry out its turn, and return the replies to send.

    ``answering=False`` is for a text stored late (from the spool): its effects are carried
    out but no reply is stored, because the patient got the apology or the advice instead.
    Returns no replies for a text already handled.
    """
    with turns.one_connection():
        return _converse(sid, phone, body, now, answering)


def _converse(sid: str, phone: str, body: str, now, answering: bool) -> list[str]:
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
    values = site_values()
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
