"""Delivery state of what we sent, from Twilio's status callbacks.

Callbacks can arrive out of order (``sent`` after ``delivered``), so a state only ever
moves forward: queued < sending < sent < delivered/undelivered/failed. A message that
could not be delivered becomes an alert, because a patient may be missing a reminder.
"""

from __future__ import annotations

import logging
from datetime import datetime

from .extensions import db
from .models import Alert, Message

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


def record(sid: str, state: str, error_code: str | None, *, now: datetime) -> Message | None:
    """Apply one status report to the message with this SID; None when we never sent it."""
    message = db.session.scalar(db.select(Message).filter_by(provider_sid=sid))
    if message is None:
        log.info("status %s for unknown SID %s: no message row", state, sid)
        _tell_reminders(sid, state, error_code)
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
        db.session.add(
            Alert(
                kind="delivery_failed",
                phone=message.phone,
                patient_id=message.patient_id,
                message_id=message.id,
                detail=f"Twilio error {error_code or 'unknown'}",
            )
        )
    _tell_reminders(sid, state, error_code)
    return message


def _tell_reminders(sid: str, state: str, error_code: str | None) -> None:
    from . import reminders  # reminders imports outbound, which imports this module's peers

    reminders.record_delivery(sid, state, error_code)
