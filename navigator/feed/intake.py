"""Receiving one framed message from the scheduling feed: keep it, apply it, answer it.

The order is the promise made to the sender:
1. the raw bytes are committed (``FeedMessage``) before anything else, so even bytes that
   do not parse are kept;
2. the change is applied and its outcome committed with the message's row;
3. only then is the ACK returned. If the database cannot be reached at any step,
   ``StoreUnavailable`` is raised and the listener closes the connection without an
   ACK, so the sender keeps the message and sends it again.

ACK codes (original mode; enhanced mode answers CA/CE/CR, see ``answer_code``):
- AA: applied, ignored as stale, or a problem of meaning left for a coordinator (an
  unknown code, an unmatched patient, ...). Never a NAK for those: a NAK stops the
  sender's ordered queue for every other patient.
- AE: bytes we cannot read as HL7, and a message over the listener's size limit (its
  beginning is kept).
- AR: a message type or version we do not take.
A resend (same sender, control id and SHA-256) gets the stored answer and changes nothing;
the same key with other content is kept and left for a coordinator.

Logs carry the message type, control id and internal ids, never patient data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import hl7
from flask import current_app
from sqlalchemy import and_, bindparam, func
from sqlalchemy.exc import DBAPIError, OperationalError

from ..audit.records import record
from ..extensions import db
from ..logs import failure
from ..models import FeedMessage, utcnow
from . import apply as schedule_feed
from . import siu

log = logging.getLogger(__name__)

#: Enhanced-mode answers for each original-mode code.
ENHANCED = {"AA": "CA", "AE": "CE", "AR": "CR"}


class StoreUnavailable(RuntimeError):
    """The database could not keep the message: send no ACK, so the sender retries."""


@dataclass
class Answer:
    """The ACK to send (None: send none) and the row the message is kept in."""

    ack: bytes | None
    message_id: int | None


def answer_code(code: str, accept_ack: str) -> str | None:
    """What to answer under MSH-15: original mode (empty) always answers ``code``; enhanced
    mode answers CA/CE/CR, always (AL), never (NE), only on error (ER) or only on success
    (SU)."""
    if not accept_ack:
        return code
    answer = ENHANCED[code]
    if accept_ack == "NE" or (accept_ack == "ER" and answer == "CA"):
        return None
    if accept_ack == "SU" and answer != "CA":
        return None
    return answer


def _clean(value: str) -> str:
    """A value safe to place in an ACK field: HL7 delimiters become spaces ("ADT^A08"
    reads "ADT A08"), segment breaks go."""
    kept = "".join(" " if ch in "|^~\\&" else ch for ch in value if ch not in "\r\n")
    return kept[:80]


def build_ack(raw: bytes, header: siu.Header | None, code: str, note: str = "") -> bytes:
    """The ACK for the message: MSH-3/4 swapped with 5/6, MSA-1 the code, MSA-2 the control id."""
    config = current_app.config
    encoding = config["HL7_ENCODING"]
    if header is not None and header.parsed is not None:
        try:
            ack = header.parsed.create_ack(
                code,
                message_id=f"ACK{_clean(header.control_id)}"[:20] or None,
                application=config["HL7_RECEIVING_APP"],
                facility=config["HL7_RECEIVING_FACILITY"],
            )
            # python-hl7 ends the ACK with a segment break: the note goes before it, in
            # MSA-3, not into a segment of its own.
            text = str(ack).rstrip("\r")
            if note:
                text += "|" + _clean(note)
            return (text + "\r").encode(encoding)
        except (hl7.ParseException, KeyError, IndexError, ValueError):
            pass
    stamp = utcnow().strftime("%Y%m%d%H%M%S")
    app = config["HL7_RECEIVING_APP"]
    text = f"MSH|^~\\&|{app}||||{stamp}||ACK|ACK{stamp}|P|2.5.1\rMSA|{code}||{_clean(note)}"
    return text.encode("ascii")


# Built once (see schedule_feed): the messages kept under a sender's key, and those that
# came without MSH.
_BY_KEY = db.select(FeedMessage).where(
    FeedMessage.source == "hl7",
    FeedMessage.sending_app == bindparam("app"),
    FeedMessage.sending_facility == bindparam("facility"),
    FeedMessage.control_id == bindparam("control_id"),
)
#: The same, also taking the appointment's advisory lock (schedule_feed.lock_key): one
#: round trip instead of two. The lock's one-row subquery makes it run even when no
#: message matches; it is held until the commit or rollback.
_BY_KEY_LOCKING = (
    db.select(FeedMessage)
    .select_from(db.select(func.pg_advisory_xact_lock(bindparam("lock")).label("held")).subquery())
    .outerjoin(
        FeedMessage,
        and_(
            FeedMessage.source == "hl7",
            FeedMessage.sending_app == bindparam("app"),
            FeedMessage.sending_facility == bindparam("facility"),
            FeedMessage.control_id == bindparam("control_id"),
        ),
    )
)
_UNKEYED = db.select(FeedMessage).where(
    FeedMessage.source == "hl7", FeedMessage.control_id == "", FeedMessage.sending_app == ""
)


def _known(
    header: siu.Header | None, digest: str, lock: int | None = None
) -> tuple[FeedMessage | None, bool]:
    """The stored message with this key and hash (a resend), and whether the key was seen
    with other content (a reused control id); takes the advisory ``lock`` when given.
    Bytes without MSH are keyed by hash alone."""
    if header is None:
        rows = db.session.scalars(_UNKEYED)
    else:
        key = {
            "app": header.sending_app[:180],
            "facility": header.sending_facility[:180],
            "control_id": header.control_id[:199],
        }
        if lock is None:
            rows = db.session.scalars(_BY_KEY, key)
        else:
            rows = db.session.scalars(_BY_KEY_LOCKING, {**key, "lock": lock})
    rows = [
        row
        for row in rows
        if row is not None and (header is not None or row.content_hash == digest)
    ]
    same = next((row for row in rows if row.content_hash == digest), None)
    return same, bool(rows) and same is None and bool(header and header.control_id)


def _new_row(raw: bytes, header: siu.Header | None, digest: str) -> FeedMessage:
    """The message's row, not yet in the session: it is added with its outcome, so the
    message and what came of it are written in one INSERT and one commit."""
    header = header or siu.Header()
    row = FeedMessage(
        source="hl7",
        sending_app=header.sending_app[:180],
        sending_facility=header.sending_facility[:180],
        control_id=header.control_id[:199],
        content_hash=digest,
        message_type=header.message_type[:20],
        version=header.version[:10],
        message_time=siu.to_utc(header.message_time),
        raw=raw,
        status="received",
        detail="",
    )
    return row


def receive(raw: bytes, now: datetime | None = None, *, too_long: bool = False) -> Answer:
    """Keep, apply and answer one message (the bytes between the MLLP frame marks).

    ``too_long``: ``raw`` is only the beginning of a message over the listener's size
    limit; it is kept and answered AE, never applied.

    :raise StoreUnavailable: the database is down; answer nothing.
    """
    try:
        return _receive(raw, now or utcnow(), too_long)
    except (OperationalError, DBAPIError) as exc:
        db.session.rollback()
        log.error("feed: database unavailable, no ACK sent (%s)", type(exc).__name__)
        raise StoreUnavailable from None


def _receive(raw: bytes, now: datetime, too_long: bool) -> Answer:
    encoding = current_app.config["HL7_ENCODING"]
    digest = siu.content_hash(raw)
    try:
        header = siu.read_header(raw, encoding, current_app.config["SITE_TIMEZONE"])
    except siu.Unreadable:
        header = None
    if too_long:
        event, refusal = None, siu.Unreadable(f"the message is over {len(raw)} bytes")
    else:
        event, refusal = _read(raw, header, encoding)
    lock = schedule_feed.lock_key(event) if event is not None else None
    same, reused = _known(header, digest, lock)
    if same is not None:
        answer = Answer(_answer(raw, header, same), same.id)
        line = (same.message_type, _clean(same.control_id), same.id)
        db.session.rollback()  # nothing to keep; lets go of the appointment's lock
        log.info("feed: resend of %s %s, message #%s", *line)
        return answer
    # Two connections delivering the same new message at once: the second INSERT breaks
    # the unique key, that message gets no ACK, and its resend is answered as a resend.
    row = _new_row(raw, header, digest)
    if header is None:
        _finish(row, "unparseable", "AE", detail=str(refusal or "not an HL7 message (no MSH)"))
    elif reused:
        _finish(row, "needs_review", "AA", problem="control_id_reused")
    elif refusal is not None:
        _refuse(row, refusal)
    else:
        row.external_id = event.external_id
        apply_event(row, event, now, locked=lock is not None)
    db.session.add(row)
    db.session.flush()
    # Read before the commit expires them; sent only once the commit has succeeded.
    answer = Answer(_answer(raw, header, row), row.id)
    line = (row.message_type or "?", _clean(row.control_id) or "-", row.status, row.problem)
    db.session.commit()
    log.info("feed: %s %s -> %s %s, message #%s", *line[:3], line[3] or "", answer.message_id)
    return answer


def _answer(raw: bytes, header: siu.Header | None, row: FeedMessage) -> bytes | None:
    code = answer_code(row.ack_code or "AA", header.accept_ack if header else "")
    if code is None:
        return None
    note = row.detail if row.ack_code in ("AE", "AR") else ""
    return build_ack(raw, header, code, note)


def _finish(row: FeedMessage, status: str, ack: str, problem: str | None = None, detail=""):
    row.status = status
    row.ack_code = ack
    row.problem = problem
    row.detail = (detail or schedule_feed.PROBLEMS.get(problem or "", ""))[:300]


def _read(
    raw: bytes, header: siu.Header | None, encoding: str
) -> tuple[siu.ScheduleEvent | None, siu.Refused | siu.Unreadable | None]:
    """The appointment change the message describes, or why it cannot be read (kept, to
    be answered AR or AE once the message is stored). Read before the resend check, which
    also takes the appointment's lock."""
    if header is None:
        return None, None
    try:
        return siu.read_event(raw, encoding, header)[1], None
    except (siu.Refused, siu.Unreadable) as exc:
        return None, exc


def _refuse(row: FeedMessage, refusal: siu.Refused | siu.Unreadable) -> None:
    if isinstance(refusal, siu.Refused):
        _finish(row, "rejected", "AR", detail=str(refusal))
    else:
        _finish(row, "unparseable", "AE", detail=str(refusal))


def apply_event(
    row: FeedMessage, event: siu.ScheduleEvent, now: datetime, *, locked: bool = False
) -> None:
    """Apply the event; record the outcome and the match decision on ``row``, and put the
    row in the session. The caller commits both together: one commit a message.

    An error of our own is kept as a problem for a coordinator (AA), never lost: the
    rollback undoes the half-made change (the row, added only afterwards, survives it),
    and the message can be replayed once fixed. Not a savepoint: SQLite's driver would
    commit at its release.
    """
    try:
        outcome = schedule_feed.apply(event, now, locked=locked)
    except OperationalError:
        raise
    except Exception as exc:  # noqa: BLE001 - kept for a person; logged by type and place only
        log.error("feed: applying message %s failed: %s", _clean(row.control_id), failure(exc))
        db.session.rollback()
        outcome = schedule_feed.Outcome("needs_review", problem="error")
    _finish(row, outcome.status, "AA", outcome.problem, outcome.detail)
    row.patient_id = outcome.patient_id
    row.appointment_id = outcome.appointment_id
    match = "matched" if outcome.patient_id and outcome.problem is None else (outcome.problem or "")
    if outcome.details_differ:
        # Applied, and shown to a coordinator as a proposal until they have seen it. Set
        # before the row is first written: afterwards it would cost an UPDATE a message.
        row.problem = "details_differ"
        match += " (name, number or language differ: proposed, not applied)"
    db.session.add(row)
    db.session.flush()
    record(
        "feed_" + outcome.status,
        "feed_message",
        row.id,
        f"{row.message_type} {event.action}; patient #{outcome.patient_id or '-'} {match};"
        f" appointment #{outcome.appointment_id or '-'}; {outcome.detail}",
    )
    if outcome.appointment_id and outcome.status == "applied":
        record(
            "feed_" + event.action,
            "appointment",
            outcome.appointment_id,
            f"from the scheduling feed, message #{row.id}: {outcome.detail}",
        )


def replay(row: FeedMessage, coordinator_id: int, now: datetime | None = None) -> FeedMessage:
    """Apply a stored message again, once a coordinator has fixed the cause (enrolled the
    patient, added the code or location); the caller commits.

    The order check still holds: a message older than what was applied since changes
    nothing. A message whose raw bytes were purged cannot be replayed.
    """
    if row.raw is None:
        raise ValueError("the message was purged and cannot be replayed")
    now = now or utcnow()
    encoding = current_app.config["HL7_ENCODING"]
    zone = current_app.config["SITE_TIMEZONE"]
    _, event = (
        siu.read_event(row.raw, encoding, sent_zone=zone) if row.source == "hl7" else (None, None)
    )
    if event is None:
        raise ValueError("only feed messages can be replayed")
    apply_event(row, event, now)
    if row.status != "needs_review":
        row.resolved_at = now
        row.resolved_by_id = coordinator_id
    return row


def purge(now: datetime | None = None) -> int:
    """Forget raw messages older than ``HL7_RETENTION_DAYS``; keys, hashes and outcomes
    stay, so a late resend is still recognised. Returns how many were purged; commits."""
    now = now or utcnow()
    days = current_app.config["HL7_RETENTION_DAYS"]
    cutoff = now - timedelta(days=days)
    result = db.session.execute(
        db.update(FeedMessage)
        .where(FeedMessage.raw.is_not(None), FeedMessage.received_at < cutoff)
        .values(raw=None, purged_at=now)
    )
    db.session.commit()
    log.info("feed: purged %s raw messages older than %s days", result.rowcount, days)
    return result.rowcount
