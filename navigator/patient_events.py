"""The patient-event record: one row for each thing a patient did or agreed to.

STOP, START, a confirmation, a request for a new time: each is appended here by the code
that carries out the change, in the same transaction, so the event and the change stand
or fall together. The coordinator's timeline reads these rows. Nothing here commits,
updates or deletes; nothing here is logged (which patient did what is health data).
"""

from __future__ import annotations

from datetime import datetime

from .extensions import db
from .models import PatientEvent, utcnow

#: How ``replies`` names the way a request came, as the channel stored on the event.
CHANNEL_OF = {"text": "sms", "call": "voice"}


def record(
    kind: str,
    phone: str,
    *,
    patient_id: int | None,
    channel: str,
    appointment_id: int | None = None,
    at: datetime | None = None,
) -> PatientEvent:
    """Add the event to the current session; the caller's commit writes it."""
    event = PatientEvent(
        kind=kind,
        phone=phone,
        patient_id=patient_id,
        appointment_id=appointment_id,
        channel=CHANNEL_OF.get(channel, channel),
        created_at=at or utcnow(),
    )
    db.session.add(event)
    return event
