"""Telling the patient that an appointment moved, was cancelled or is back on.

One short text, in their language, with the new day and time only (no test, no place
beyond what a reminder says, never a reason): the minimum they need to know. It goes now,
through ``outbound``, unless the number opted out (then nothing goes), the patient chose
calls (a text may not reach a landline), or it is their quiet hours: in those last two
cases a person must tell them, so an inbox item says so, with the appointment in words.
Returns what happened, for the coordinator's notice. The caller commits.
"""

from __future__ import annotations

import logging
from datetime import datetime

from .. import alerts, opt_outs, timefmt
from ..catalog import catalog, site_values
from ..models import Appointment
from ..reminders import planning
from ..telephony.outbound import SendError, send_sms

log = logging.getLogger(__name__)

KINDS = ("moved", "cancelled", "reinstated")
#: The inbox item for a change a person must still tell the patient about.
ALERT_KIND = "notice_waiting"


def notify(appointment: Appointment, kind: str, now: datetime) -> str:
    """Tell the patient about the change; returns "sent", "opted out" or "left to a person"."""
    if kind not in KINDS:
        raise ValueError(f"unknown change {kind!r}")
    patient = appointment.patient
    if opt_outs.opted_out(patient.phone):
        return "opted out"
    if patient.channel == "voice":
        return _left_to_a_person(appointment, kind, "the patient gets calls, not texts")
    if planning.in_quiet_hours(patient, now):
        return _left_to_a_person(appointment, kind, "it is the patient's quiet hours")
    language = patient.language or "en"
    body = catalog().render(
        f"notices.appointment.{kind}",
        language,
        **site_values(),
        **timefmt.date_and_time(appointment.starts_at, appointment.timezone, language),
    )
    try:
        send_sms(
            patient.phone, body, patient_id=patient.id, content_key=f"notices.appointment.{kind}"
        )
    except SendError:
        log.warning("change notice for appointment %s not sent", appointment.id)
        return _left_to_a_person(appointment, kind, "the text could not be sent")
    return "sent"


def _left_to_a_person(appointment: Appointment, kind: str, why: str) -> str:
    patient = appointment.patient
    alerts.raise_alert(
        ALERT_KIND,
        patient.phone,
        patient,
        appointment=appointment,
        detail=f"tell the patient it was {kind}: {why}",
    )
    return "left to a person"
