"""Storing one turn of a text conversation in as few round trips as the database allows.

Every inbound text needs three facts before it can be answered (is this MessageSid new,
where is this number in the menu and in which language, is it an enrolled patient's) and
leaves two records after (the new position, and the replies for the timeline). These
two halves are the hot path of the navigator: on PostgreSQL each is one statement, run
in autocommit, so a turn costs two round trips instead of seven (BEGIN, three reads and
writes, two more writes, COMMIT). SQLite (the embedded mode, one writer) runs the same
steps as plain statements in a short transaction.

The inbound row is written first and alone, with the status ``received`` (stored, not yet
handled). The second half marks it ``handled`` in the same statement that stores the
position and the replies; turns with effects (an opt-out, an alert, a visit) are finished
through the ORM by ``outcomes.apply`` instead, in one transaction with that mark, because
their writes must stand or fall together. So a text whose effects failed (a serialization
failure, a lost connection, a crash) stays ``received``: a Twilio retry of the same
MessageSid resumes it instead of being ignored, and ``durable_inbound`` finishes what no
retry came for. A handled text's retry changes nothing.
"""

from __future__ import annotations

import logging
from collections import namedtuple
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import sqlalchemy as sa
from flask import current_app

from .. import database
from ..extensions import db
from ..models import (
    Contact,
    Message,
    MessageReading,
    Patient,
    contact_insert,
    contact_upsert,
    insert,
    is_opted_out,
)

log = logging.getLogger(__name__)

MESSAGES = Message.__table__
CONTACTS = Contact.__table__
PATIENTS = Patient.__table__

#: An inbound text's status before and after its turn was carried out.
RECEIVED, HANDLED = "received", "handled"


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


def autocommit():
    """A connection whose every statement is its own transaction (PostgreSQL only).

    Its commits do not wait for the write-ahead log to reach the disk
    (``synchronous_commit=off``). Only these plain turns use it: if the database server
    itself crashed, the last fraction of a second of menu positions and logged texts could
    be lost, never corrupted. Anything that matters more (an alert, an opt-out, a
    reminder) is written by the ORM's ordinary transactions, whose commit also flushes
    every earlier one, the inbound text included.
    """
    return _engine().connect()


def _engine():
    """The autocommit engine of the plain turns, made once per app (see ``autocommit``)."""
    app = current_app._get_current_object()
    engine = app.extensions.get("turns_engine")
    if engine is None:
        # The app's time limits, without its pre-ping (see database.py and ``fetch``).
        options = database.engine_options(str(db.engine.url), app.config, autocommit=True)
        engine = sa.create_engine(db.engine.url, **options)
        app.extensions["turns_engine"] = engine
    return engine


@cache
def _compiled(statement, dialect) -> tuple[str, dict]:
    """``statement`` as PostgreSQL SQL, compiled once, its fixed values written in.

    SQLAlchemy computes a cache key over the whole statement on every execution, which
    for these CTEs cost three times the Python time of sending them; the hot path sends
    the compiled text on the driver's cursor instead. The statements' constants (a new
    contact's language and menu, a message's direction and status) are written into the
    text as literals, so the driver converts only the values of each turn. Returns the
    text and the parameters each call gives (None unless given).
    """
    compiled = statement.compile(dialect=dialect)
    sql, given = compiled.string, {}
    for name, value in compiled.params.items():
        if value is None:
            given[name] = None
            continue
        literal = sa.literal(value).compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        sql = sql.replace(f"%({name})s", literal.string)
    return sql, given


#: The pooled connection that the statements of a turn in progress share (``one_connection``).
_shared: ContextVar[list | None] = ContextVar("turn_connection", default=None)


@contextmanager
def one_connection():
    """Let the statements inside share one pooled connection: a text's two halves then
    cost one checkout and one return, not two. (The engine's reading in between holds
    no lock: every statement is its own transaction.)"""
    held: list = []
    token = _shared.set(held)
    try:
        yield
    finally:
        _shared.reset(token)
        for connection in held:
            connection.close()


def fetch(statement, params: dict):
    """Run ``statement`` in autocommit on PostgreSQL; its first row (named), or None.

    No pre-ping on checkout, a round trip per statement the hot path cannot afford: a
    statement that finds its pooled connection closed (the server restarted or failed
    over) is sent once more on a fresh one. Such a statement never reached the server, so
    sending it again is safe; the pool is emptied first, since its other connections
    died with that one.
    """
    engine = _engine()
    sql, given = _compiled(statement, engine.dialect)
    values = {**given, **params}
    held = _shared.get()
    for attempt in (1, 2):
        if held:
            connection = held[0]
        else:
            connection = engine.raw_connection()
            if held is not None:
                held.append(connection)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, values)
                return _first_row(cursor, sql)
        except engine.dialect.loaded_dbapi.Error as exc:
            if attempt == 2 or not engine.dialect.is_disconnect(
                exc, connection.dbapi_connection, None
            ):
                raise
            connection.invalidate(exc)
            if held:
                held.clear()
                connection.close()
            engine.dispose(close=False)
            log.warning("database connection found closed; trying once on a fresh one")
        finally:
            if held is None:
                connection.close()
    return None


#: Each statement's row class (None: it returns no rows), learnt from its first result.
_row_classes: dict[str, type | None] = {}


def _first_row(cursor, sql: str):
    """The statement's first row with named columns, or None; the driver's own named rows
    rebuild the columns' description on every statement."""
    try:
        row_class = _row_classes[sql]
    except KeyError:
        names = [column.name for column in cursor.description or ()]
        row_class = namedtuple("Row", names, rename=True) if names else None
        _row_classes[sql] = row_class
    if row_class is None:
        return None
    row = cursor.fetchone()
    return None if row is None else row_class._make(row)


def _postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


@cache
def _open_statements(dialect: str):
    """The statements of the first half, built once per dialect with bound parameters.

    Building SQLAlchemy statements costs more Python time than running them here, so the
    hot path reuses these objects (and with them SQLAlchemy's compiled-statement cache).
    """
    phone, now = sa.bindparam("t_phone"), sa.bindparam("t_now")
    patient_id = sa.select(PATIENTS.c.id).where(PATIENTS.c.phone == phone).scalar_subquery()
    new_message = (
        insert(MESSAGES)
        .values(
            direction="in",
            channel="sms",
            phone=phone,
            provider_sid=sa.bindparam("t_sid"),
            body=sa.bindparam("t_body"),
            status="received",
            created_at=now,
            patient_id=patient_id,
        )
        .on_conflict_do_nothing(index_elements=["provider_sid"])
        .returning(MESSAGES.c.id)
    )
    columns = (
        CONTACTS.c.id,
        CONTACTS.c.language,
        CONTACTS.c.language_chosen,
        CONTACTS.c.menu_node,
        CONTACTS.c.menu_page,
        CONTACTS.c.opted_out_at,
        CONTACTS.c.opted_in_at,
    )
    if dialect != "postgresql":
        return new_message, contact_upsert(phone, now).returning(*columns), sa.select(patient_id)
    message_cte, contact_cte = new_message.cte("new_message"), _found_or_made(phone, now, columns)
    combined = sa.select(
        message_cte.c.id.label("message_id"), contact_cte, patient_id.label("patient_id")
    ).select_from(contact_cte.outerjoin(message_cte, sa.true()))
    return (combined,)


def _found_or_made(phone, now, columns):
    """PostgreSQL: the number's contact row as a CTE, made if new, and read without being
    written when it exists.

    ``contact_upsert`` writes a new version of a known number's row (its ``updated_at``,
    which nothing reads) only so that RETURNING gives the row back: a heap write, its WAL
    and a row lock on every text and greeting. Here the INSERT does nothing on a known
    number and the row comes from the statement's snapshot instead. One case gives no row:
    the number's first message racing another one from the same number, whose row was
    committed after this statement began (``fetch_made`` sends the statement again).
    """
    made = (
        contact_insert(phone, now)
        .on_conflict_do_nothing(index_elements=["phone"])
        .returning(*columns)
        .cte("made_contact")
    )
    found = sa.select(*columns).where(CONTACTS.c.phone == phone)
    return sa.union_all(sa.select(made), found).cte("contact")


def fetch_made(statement, params: dict):
    """``fetch`` of a statement that makes or reads the sender's contact row
    (``_found_or_made``): sent once more in the one case that finds no row (the number's
    row was made by a racing first message, committed after the statement began; the
    second statement sees it)."""
    row = fetch(statement, params)
    if row is None:
        log.info("a new number's row was made by a racing request; reading it again")
        row = fetch(statement, params)
    return row


def open_turn(sid: str, phone: str, body: str, now: datetime) -> Turn | None:
    """Record the inbound text and read its sender's state.

    Returns None when the SID was seen and handled before. A text stored but never
    handled (its effects failed) is resumed: its turn is returned again.
    """
    params = {"t_sid": sid, "t_phone": phone, "t_body": body, "t_now": now}
    if _postgres():
        (combined,) = _open_statements("postgresql")
        row = fetch_made(combined, params)
        message_id = row.message_id
        if message_id is None:
            unfinished = fetch(_unfinished_statement(), {"t_sid": sid})
            message_id = unfinished.id if unfinished else None
        if message_id is None:
            return None
        return _turn(message_id, row, row.patient_id)
    new_message, contact, patient = _open_statements(db.engine.dialect.name)
    with db.engine.begin() as conn:
        message_id = conn.execute(new_message, params).scalar() or _unfinished(conn, sid)
        if message_id is None:
            return None
        row = conn.execute(contact, params).one()
        patient_id = conn.execute(patient, params).scalar()
    return _turn(message_id, row, patient_id)


@cache
def _unfinished_statement():
    """The inbound text with a SID (``t_sid``) if it was stored but never handled."""
    return sa.select(MESSAGES.c.id).where(
        MESSAGES.c.provider_sid == sa.bindparam("t_sid"),
        MESSAGES.c.direction == "in",
        MESSAGES.c.status == RECEIVED,
    )


def _unfinished(conn, sid: str) -> int | None:
    """The id of the inbound text with this SID if it was stored but never handled."""
    return conn.execute(_unfinished_statement(), {"t_sid": sid}).scalar()


def _turn(message_id: int, row, patient_id: int | None) -> Turn:
    return Turn(
        message_id=message_id,
        contact_id=row.id,
        language=row.language,
        language_chosen=bool(row.language_chosen),
        menu_node=row.menu_node,
        menu_page=row.menu_page,
        opted_out=is_opted_out(row.opted_out_at, row.opted_in_at),
        patient_id=patient_id,
    )


#: The second half on PostgreSQL, as one statement. Plain SQL: a multi-row INSERT built with
#: SQLAlchemy is compiled afresh on every call, which cost more than the round trip it saves.
_REPLIES = """
    INSERT INTO messages (direction, channel, phone, patient_id, body, transport, status,
                          content_key, created_at)
    SELECT 'out', 'sms', :phone, :patient_id, body, 'reply', 'sent', :content_key, :now
      FROM unnest(CAST(:bodies AS text[])) AS body
"""
_HANDLED = """
    handled AS (
        UPDATE messages SET status = 'handled' WHERE id = :message_id
    )"""
_STATE = """
    state AS (
        UPDATE contacts
           SET menu_node = :node, menu_page = :page, language = :language, updated_at = :now
         WHERE id = :contact_id
    ),"""
#: How a text the navigator was unsure of was read, for the coordinators' labelling page
#: (``outcomes._keep_reading`` writes the same row when the turn has other effects).
_READING = """
    reading AS (
        INSERT INTO message_readings (message_id, intent, confidence, understood, language,
                                      created_at)
        VALUES (:message_id, :r_intent, :r_confidence, :r_understood, :r_language, :now)
        ON CONFLICT (message_id) DO NOTHING
    ),"""


@cache
def _close_statement(moved: bool, reading: bool):
    """The second half as one statement: the position only when it changed (a glossary
    answer, HELP or a question repeated writes no new version of the contact's row), the
    reading only when there is one to keep."""
    return sa.text(
        "WITH" + (_STATE if moved else "") + (_READING if reading else "") + _HANDLED + _REPLIES
    )


def close_turn(
    turn: Turn,
    phone: str,
    *,
    node: str,
    page: int,
    language: str,
    texts: list[str],
    content_key: str | None,
    now: datetime,
    reading=None,
) -> None:
    """Mark the text handled, remember the new position and language, and store the
    replies for the timeline; with ``reading`` (the understanding step's, of a text it was
    unsure of), keep it for the coordinators' labelling page."""
    moved = (node, page, language) != (turn.menu_node, turn.menu_page, turn.language)
    params = {
        "message_id": turn.message_id,
        "contact_id": turn.contact_id,
        "node": node,
        "page": page,
        "language": language,
        "now": now,
        "phone": phone,
        "patient_id": turn.patient_id,
        "content_key": content_key,
        "bodies": texts,
    }
    if reading is not None:
        params |= {
            "r_intent": reading.intent,
            "r_confidence": round(reading.confidence, 3),
            "r_understood": reading.understood,
            "r_language": reading.language,
        }
    if _postgres():
        statement = _close_statement(moved, reading is not None)
        fetch(statement, params)
        return
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(MESSAGES).where(MESSAGES.c.id == turn.message_id).values(status=HANDLED)
        )
        if moved:
            conn.execute(
                sa.update(CONTACTS)
                .where(CONTACTS.c.id == turn.contact_id)
                .values(menu_node=node, menu_page=page, language=language, updated_at=now)
            )
        if reading is not None:
            conn.execute(
                insert(MessageReading.__table__)
                .values(
                    message_id=turn.message_id,
                    intent=params["r_intent"],
                    confidence=params["r_confidence"],
                    understood=params["r_understood"],
                    language=params["r_language"],
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["message_id"])
            )
        if texts:
            conn.execute(
                sa.insert(MESSAGES),
                [
                    {
                        "direction": "out",
                        "channel": "sms",
                        "phone": phone,
                        "patient_id": turn.patient_id,
                        "body": text,
                        "transport": "reply",
                        "status": "sent",
                        "content_key": content_key,
                        "created_at": now,
                    }
                    for text in texts
                ],
            )


@dataclass(frozen=True)
class Caller:
    """What a call step needs to know about the number calling."""

    contact_id: int
    language: str
    language_chosen: bool
    opted_out: bool
    patient_id: int | None


@cache
def call_record_statement(dialect: str):
    """Built once per dialect: an INSERT keeping a call on the timeline, which does
    nothing when Twilio posts the greeting again (see calls.py)."""
    return (
        insert(MESSAGES)
        .values(
            direction="in",
            channel="voice",
            phone=sa.bindparam("c_phone"),
            patient_id=sa.bindparam("c_patient_id"),
            provider_sid=sa.bindparam("c_sid"),
            body="",
            status="answered",
            created_at=sa.bindparam("c_now"),
        )
        .on_conflict_do_nothing(index_elements=["provider_sid"])
    )


@cache
def _greeting_statement():
    """PostgreSQL: the caller's row made or read, and the call recorded, in one statement."""
    phone = sa.bindparam("t_phone")
    patient_id = sa.select(PATIENTS.c.id).where(PATIENTS.c.phone == phone).scalar_subquery()
    call = (
        call_record_statement("postgresql")
        .values(phone=phone, patient_id=patient_id, created_at=sa.bindparam("t_now"))
        .cte("call")
    )
    return _caller_statement("postgresql", True).add_cte(call)


@cache
def _caller_statement(dialect: str, create: bool):
    phone = sa.bindparam("t_phone")
    patient_id = sa.select(PATIENTS.c.id).where(PATIENTS.c.phone == phone).scalar_subquery()
    columns = (
        CONTACTS.c.id,
        CONTACTS.c.language,
        CONTACTS.c.language_chosen,
        CONTACTS.c.opted_out_at,
        CONTACTS.c.opted_in_at,
    )
    if not create:
        return sa.select(*columns, patient_id.label("patient_id")).where(CONTACTS.c.phone == phone)
    now = sa.bindparam("t_now")
    if dialect != "postgresql":
        return contact_upsert(phone, now).returning(*columns)
    contact = _found_or_made(phone, now, columns)
    return sa.select(contact, patient_id.label("patient_id"))


def caller(
    phone: str, *, create: bool = False, now: datetime | None = None, call_sid: str = ""
) -> Caller | None:
    """The caller's state in one statement; the greeting (``create``) makes the row if new.

    With ``call_sid`` (the greeting) the call is kept on the timeline too, in the same
    statement on PostgreSQL (calls.record on SQLite).
    """
    params = {"t_phone": phone, "t_now": now, "c_sid": call_sid}
    statement = _caller_statement(db.engine.dialect.name, create)
    if create and call_sid and _postgres():
        statement = _greeting_statement()
    if _postgres():
        row = fetch_made(statement, params) if create else fetch(statement, params)
        patient_id = row.patient_id if row is not None else None
    else:
        with db.engine.begin() as conn:
            row = conn.execute(statement, params).one_or_none()
            patient_id = None
            if row is not None:
                patient_id = conn.execute(
                    sa.select(PATIENTS.c.id).where(PATIENTS.c.phone == phone)
                ).scalar()
    if row is None:
        return None
    opted_out = is_opted_out(row.opted_out_at, row.opted_in_at)
    return Caller(row.id, row.language, bool(row.language_chosen), opted_out, patient_id)
