"""Calls to the navigator's number, kept for the timeline: one row a call, never its words.

The greeting records the call as a ``Message`` (channel ``voice``, direction ``in``, the
CallSid as ``provider_sid``) in one statement that does nothing when Twilio retries the
greeting; the later steps of a call write nothing, so a key press stays cheap. What the
caller said or pressed is not stored here: speech may be health information (only the
words of a warning sign or a request for a person are kept, by voice._keep_words, as a
row of their own that the inbox item points at). When the
number's call status callback is set up, it adds how the call ended and how long it lasted.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..extensions import db
from ..models import Message
from . import turns

MESSAGES = Message.__table__


def record(sid: str, phone: str, patient_id: int | None, now: datetime) -> None:
    """Keep the call on the timeline once, however often Twilio posts its greeting.

    On PostgreSQL it is one autocommitted statement on the connection plain turns use
    (see turns.py); on SQLite a short transaction of its own.
    """
    statement = turns.call_record_statement(db.engine.dialect.name)
    params = {"c_sid": sid, "c_phone": phone, "c_patient_id": patient_id, "c_now": now}
    if db.engine.dialect.name == "postgresql":
        with turns.autocommit() as conn:
            conn.execute(statement, params)
        return
    with db.engine.begin() as conn:
        conn.execute(statement, params)


def finish(sid: str, status: str, seconds: int | None, now: datetime) -> bool:
    """Say how a recorded call ended (Twilio's CallStatus) and how long it lasted.

    Returns False for a call the greeting never recorded (a reminder call, say). The
    caller commits.
    """
    result = db.session.execute(
        sa.update(MESSAGES)
        .where(
            MESSAGES.c.provider_sid == sid,
            MESSAGES.c.channel == "voice",
            MESSAGES.c.direction == "in",
        )
        .values(status=status[:20], status_at=now, body=_lasted(seconds))
    )
    return result.rowcount > 0


def _lasted(seconds: int | None) -> str:
    """The length of a call for coordinators: "lasted 2 min 5 s"."""
    if seconds is None:
        return ""
    minutes, rest = divmod(max(seconds, 0), 60)
    return f"lasted {minutes} min {rest} s" if minutes else f"lasted {rest} s"
