"""Opt-outs: recording that a number said STOP, and asking whether numbers opted out.

Shared by the conversation's outcomes, the reminder worker (a carrier's opt-out report),
reminder calls and enrolment, below all of them. The rule itself (STOP until START) is
``models.is_opted_out``. Nothing here commits.
"""

from __future__ import annotations

from datetime import datetime

from . import patient_events
from .extensions import db
from .models import Contact, Patient


def record_opt_out(
    contact: Contact, patient: Patient | None, *, now: datetime, channel: str
) -> bool:
    """Record that the number opted out; True when it had not already (a timeline event)."""
    first = not contact.opted_out
    if first:
        patient_events.record(
            "opted_out",
            contact.phone,
            patient_id=patient.id if patient else None,
            channel=channel,
            at=now,
        )
    contact.opted_out_at = now
    return first


def opted_out(phone: str) -> bool:
    """The number said STOP and has not said START since (no Contact: it never said STOP)."""
    return bool(opted_out_among({phone}))


def opted_out_among(phones: set[str]) -> set[str]:
    """Those of ``phones`` that opted out, in one query."""
    if not phones:
        return set()
    contacts = db.session.scalars(db.select(Contact).where(Contact.phone.in_(phones)))
    return {contact.phone for contact in contacts if contact.opted_out}
