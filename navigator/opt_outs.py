"""Recording an opt-out: a number said STOP (by text, on a call, or the carrier said so).

Shared by the conversation's outcomes, the reminder worker (a carrier's opt-out report)
and reminder calls, below all of them. Nothing here commits.
"""

from __future__ import annotations

from datetime import datetime

from . import patient_events
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
