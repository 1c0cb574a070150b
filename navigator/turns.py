"""Storing one turn of a text conversation in as few round trips as the database allows.

Every inbound text needs three facts before it can be answered (is this MessageSid new,
where is this number in the menu and in which language, is it an enrolled patient's) and
leaves two records after (the new position, and the replies for the timeline). These
two halves are the hot path of the navigator: on PostgreSQL each is one statement, run
in autocommit, so a turn costs two round trips instead of seven (BEGIN, three reads and
writes, two more writes, COMMIT). SQLite (the embedded mode, one writer) runs the same
steps as plain statements in a short transaction.

The inbound row is written first and alone: if the process dies before the second half,
the text is kept (and a Twilio retry of it is recognised), only the reply is lost.
Turns with effects (an opt-out, an alert, a visit) are finished through the ORM by
``outcomes.apply`` instead, in one transaction, because their writes must stand or fall
together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from .extensions import db
from .models import Contact, Message, Patient, insert

MESSAGES = Message.__table__
CONTACTS = Contact.__table__
PATIENTS = Patient.__table__


@dataclass(frozen=True)
class Turn:
    """What the conversation needs to know about the sender of one inbound text."""

    message_id: int
    contact_id: int
    language: str
    language_chosen: bool
    menu_node: str
    menu_page: int
    opted_out: bool
    patient_id: int | None


def _autocommit():
    """A connection whose every statement is its own transaction (PostgreSQL only)."""
    return db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def _postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def open_turn(sid: str, phone: str, body: str, now: datetime) -> Turn | None:
    """Record the inbound text and read its sender's state; None if the SID was seen before."""
    patient_id = sa.select(PATIENTS.c.id).where(PATIENTS.c.phone == phone).scalar_subquery()
    new_message = (
        insert(MESSAGES)
        .values(direction="in", channel="sms", phone=phone, provider_sid=sid, body=body,
                status="received", created_at=now, patient_id=patient_id)
        .on_conflict_do_nothing(index_elements=["provider_sid"])
        .returning(MESSAGES.c.id)
    )
    contact = (
        insert(CONTACTS)
        .values(phone=phone, language="en", language_chosen=False, menu_node="main",
                menu_page=0, failed_checks=0, created_at=now, updated_at=now)
        .on_conflict_do_update(index_elements=["phone"], set_={"updated_at": now})
        .returning(CONTACTS.c.id, CONTACTS.c.language, CONTACTS.c.language_chosen,
                   CONTACTS.c.menu_node, CONTACTS.c.menu_page, CONTACTS.c.opted_out_at,
                   CONTACTS.c.opted_in_at)
    )
    if _postgres():
        message_cte = new_message.cte("new_message")
        contact_cte = contact.cte("contact")
        both = sa.select(message_cte.c.id.label("message_id"), contact_cte,
                         patient_id.label("patient_id")).select_from(
            contact_cte.outerjoin(message_cte, sa.true()))
        with _autocommit() as conn:
            row = conn.execute(both).one()
        message_id = row.message_id
    else:
        with db.engine.begin() as conn:
            message_id = conn.execute(new_message).scalar()
            if message_id is None:
                return None
            row = conn.execute(contact).one()
            found = conn.execute(sa.select(patient_id)).scalar()
        return _turn(message_id, row, found)
    if message_id is None:
        return None
    return _turn(message_id, row, row.patient_id)


def _turn(message_id: int, row, patient_id: int | None) -> Turn:
    opted_out = row.opted_out_at is not None and (
        row.opted_in_at is None or row.opted_in_at < row.opted_out_at)
    return Turn(message_id=message_id, contact_id=row.id, language=row.language,
                language_chosen=bool(row.language_chosen), menu_node=row.menu_node,
                menu_page=row.menu_page, opted_out=opted_out, patient_id=patient_id)


def close_turn(turn: Turn, phone: str, *, node: str, page: int, language: str,
               texts: list[str], content_key: str | None, now: datetime) -> None:
    """Remember the new position and language, and store the replies for the timeline."""
    state = (
        sa.update(CONTACTS)
        .where(CONTACTS.c.id == turn.contact_id)
        .values(menu_node=node, menu_page=page, language=language, updated_at=now)
    )
    replies = [
        {"direction": "out", "channel": "sms", "phone": phone, "patient_id": turn.patient_id,
         "body": text, "transport": "reply", "status": "sent", "content_key": content_key,
         "created_at": now}
        for text in texts
    ]
    if _postgres():
        statement = sa.insert(MESSAGES).values(replies) if replies else None
        with _autocommit() as conn:
            if statement is None:
                conn.execute(state)
            else:
                conn.execute(statement.add_cte(state.cte("state")))
        return
    with db.engine.begin() as conn:
        conn.execute(state)
        if replies:
            conn.execute(sa.insert(MESSAGES), replies)
