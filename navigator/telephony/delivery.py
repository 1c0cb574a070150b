"""Delivery state of what we sent, from Twilio's status callbacks.

Callbacks can arrive out of order (``sent`` after ``delivered``), so a state only ever
moves forward: queued < sending < sent < delivered/undelivered/failed. A message that
could not be delivered becomes an alert, because a patient may be missing a reminder.

A report can also come before the sender has recorded the SID it is about (Twilio answers a
call's "no-answer" while the worker is still sending the rest of its batch). Such a report is
kept as an ``EarlyReport`` and applied by ``apply_early`` when the SID is recorded, or by the
worker's next tick (``apply_all_early``) if the two crossed. One that never finds its
message is dropped after ``EARLY_KEPT``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete

from .. import alerts
from ..extensions import db
from ..models import EarlyReport, Message

log = logging.getLogger(__name__)

RANK = {
    "accepted": 1,
    "scheduled": 1,
    "queued": 1,
    "outbox": 1,
    "sending": 2,
    "initiated": 2,
    "ringing": 2,
    "sent": 3,
    "in-progress": 3,
    "delivered": 5,
    "read": 6,
    "undelivered": 5,
    "failed": 5,
    "completed": 5,
    "busy": 5,
    "no-answer": 5,
    "canceled": 5,
}
FAILED = {"undelivered", "failed"}
#: How long a report for a SID nobody has recorded is kept (Twilio reports within minutes).
EARLY_KEPT = timedelta(days=2)


def record(sid: str, state: str, error_code: str | None, *, now: datetime) -> Message | None:
    """Apply one status report to the message with this SID; the caller commits.

    Returns None when no message has this SID yet: the report is kept for ``apply_early``.
    """
    message = db.session.scalar(db.select(Message).filter_by(provider_sid=sid))
    if message is None:
        log.info("status %s for SID %s not recorded yet: kept until it is", state, sid)
        db.session.add(EarlyReport(sid=sid, status=state, error_code=error_code, received_at=now))
        return None
    if RANK.get(state, 0) < RANK.get(message.status, 0):
        log.info(
            "status %s for %s arrived after %s: kept the later state", state, sid, message.status
        )
        return message
    first_failure = state in FAILED and message.status not in FAILED
    message.status = state
    message.status_at = now
    message.error_code = error_code
    if first_failure:
        alerts.raise_alert(
            "delivery_failed",
            message.phone,
            None,
            message=message,
            detail=f"Twilio error {error_code or 'unknown'}",
        )
    _tell_reminders(sid, state, error_code)
    return message


#: Who else applies each report once the Message has moved: the reminder worker registers
#: itself (``on_report``), as telephony knows messages, not what they are about.
_listeners: list[Callable[[str, str, str | None], object]] = []


def on_report(listener: Callable[[str, str, str | None], object]):
    """Register a function called with (sid, state, error_code) after each applied report."""
    _listeners.append(listener)
    return listener


def _tell_reminders(sid: str, state: str, error_code: str | None) -> None:
    for listener in _listeners:
        listener(sid, state, error_code)


def apply_early(sids) -> int:
    """Apply the reports kept for these SIDs, in the order they came; the caller commits.

    Call right after recording the SIDs (one query when, as usual, none was kept). Each
    kept report is taken by deleting its row first, so two workers (or a worker and a tick)
    never apply the same one twice. Returns how many were applied.
    """
    sids = list(sids)
    if not sids:
        return 0
    kept = db.session.execute(
        db.select(
            EarlyReport.id,
            EarlyReport.sid,
            EarlyReport.status,
            EarlyReport.error_code,
            EarlyReport.received_at,
        )
        .where(EarlyReport.sid.in_(sids))
        .order_by(EarlyReport.sid, EarlyReport.id)  # one order in every worker: no lock cycles
    ).all()
    applied = 0
    for report_id, sid, state, error_code, received_at in kept:
        taken = db.session.execute(delete(EarlyReport).where(EarlyReport.id == report_id))
        if taken.rowcount:
            record(sid, state, error_code, now=received_at)
            applied += 1
    return applied


def apply_all_early(now: datetime) -> int:
    """Apply every kept report whose SID has been recorded since, and drop the ones too old
    to ever find their message; the caller commits. Returns how many were applied.

    Catches the report that crossed the recording of its SID (it was kept just after the
    sender looked for kept reports).
    """
    sids = db.session.scalars(
        db.select(EarlyReport.sid)
        .distinct()
        .join(Message, Message.provider_sid == EarlyReport.sid)
        .order_by(EarlyReport.sid)  # one order in every worker, so no two wait on each other
    ).all()
    applied = apply_early(sids)
    db.session.execute(delete(EarlyReport).where(EarlyReport.received_at < now - EARLY_KEPT))
    return applied
