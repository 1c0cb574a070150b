"""Raising an alert: the one way to put something in front of a person (the inbox).

Every layer that notices something a coordinator must see (a warning sign, a failed
delivery, a locked identity check, a reminder reply) raises it here, so an alert row is
built in one place. Nothing here commits: the caller's transaction keeps the alert and
the change that raised it together.
"""

from __future__ import annotations

import logging

from .extensions import db
from .models import Alert, Appointment, Contact, Message, Patient

log = logging.getLogger(__name__)


def raise_alert(
    kind: str,
    contact: Contact | str | None,
    patient: Patient | None,
    *,
    detail: str = "",
    appointment: Appointment | None = None,
    message: Message | None = None,
    recording_url: str | None = None,
    source_sid: str | None = None,
) -> Alert:
    """Put something in front of a person: the coordinators' inbox.

    ``contact`` is the number's Contact, or just the number where no Contact is at hand
    (a delivery report, a reminder's recipient); None for a caller whose number is hidden:
    a warning sign or a message from them still reaches the inbox, as an unknown caller.
    ``appointment`` is the visit it is about, if any. Without ``patient``, the patient is
    the appointment's or the message's, so a caller holding only those need not load one.
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
    if patient is not None:
        patient_id = patient.id
    elif appointment is not None:
        patient_id = appointment.patient_id
    else:
        patient_id = message.patient_id if message is not None else None
    alert = Alert(
        kind=kind,
        source_sid=source_sid,
        phone=(contact if isinstance(contact, str) else contact.phone) if contact else "",
        patient_id=patient_id,
        appointment_id=appointment.id if appointment is not None else None,
        message_id=message.id if message else None,
        detail=detail[:300],
        recording_url=recording_url,
    )
    db.session.add(alert)
    # Which warning sign, and for whom, is health information: it stays in the database,
    # shown to coordinators, never in the logs.
    log.info("alert raised: kind=%s", kind)
    return alert
