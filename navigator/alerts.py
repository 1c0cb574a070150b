"""Raising an alert: the one way to put something in front of a person (the inbox).

Every layer that notices something a coordinator must see (a warning sign, a failed
delivery, a locked identity check, a reminder reply) raises it here, so an alert row is
built in one place. Nothing here commits: the caller's transaction keeps the alert and
the change that raised it together.
"""

from __future__ import annotations

import logging

from .extensions import db
from .models import Alert, Contact, Message, Patient

log = logging.getLogger(__name__)


def raise_alert(
    kind: str,
    contact: Contact | None,
    patient: Patient | None,
    *,
    detail: str = "",
    message: Message | None = None,
    recording_url: str | None = None,
    source_sid: str | None = None,
) -> Alert:
    """Put something in front of a person: the coordinators' inbox.

    ``contact`` is None for a caller whose number is hidden: a warning sign or a message
    from them still reaches the inbox, as an unknown caller with no number.
    ``source_sid`` is the Twilio SID that raised it (a RecordingSid, a spooled call step):
    the same SID posted again returns the alert it already made (a unique constraint on
    kind and SID backs this up).
    """
    if source_sid:
        existing = db.session.scalar(
            db.select(Alert).filter_by(kind=kind, source_sid=source_sid).limit(1)
        )
        if existing is not None:
            log.info("alert for %s already raised: kind=%s", source_sid, kind)
            return existing
    alert = Alert(
        kind=kind,
        source_sid=source_sid,
        phone=contact.phone if contact else "",
        patient_id=patient.id if patient else None,
        message_id=message.id if message else None,
        detail=detail,
        recording_url=recording_url,
    )
    db.session.add(alert)
    # Which warning sign, and for whom, is health information: it stays in the database,
    # shown to coordinators, never in the logs.
    log.info("alert raised: kind=%s", kind)
    return alert
