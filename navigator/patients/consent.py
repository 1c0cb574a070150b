"""Enrolling a patient: consent, the record, the opt-in, and the confirmation they receive.

One path, whoever enrols: the coordinator app (coordinator/patients.py), practice patients
(practice.py) and ``flask --app wsgi patients enroll`` (cli.py) all call ``enrol`` inside
their own transaction, then ``send_opt_in`` after it is committed. So every patient has a
record of who obtained their consent, how and when, and what they were told; the opt-in
is on their timeline; and they get the same confirmation (a text, or a call for a patient
who chose calls), whose failure is put in front of a person as a ``delivery_failed`` item.

It does not flash, echo or know who is signed in: each caller says what happened in its
own way. ``enrol`` does not commit; ``send_opt_in`` commits the message it sends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from .. import alerts, opt_outs
from ..catalog import catalog, site_values
from ..extensions import db
from ..models import Consent, Contact, Message, Patient
from ..patient_events import record as record_event
from ..telephony.outbound import SendError, deliver, prepare_call, public_url, send_sms
from .enrolment import NewPatient, enroll

log = logging.getLogger(__name__)

#: ``Message.content_key`` of a confirmation call's row (channels/confirmation_calls.py).
CALL_KEY = "notices.voice.start"

#: How consent to texts may be given: (value kept, label shown).
CONSENT_METHODS = [
    ("in person", "In person"),
    ("phone", "By phone"),
    ("paper form", "Paper form"),
    ("web", "Web form"),
]
#: What the patient must be told before consenting to texts: (form field, line recorded).
DISCLOSURES = [
    ("told_program", "Program: who the texts come from"),
    ("told_purpose", "Purpose: appointment reminders and information about the workup"),
    ("told_frequency", "Frequency: varies, most of them in the days before an appointment"),
    ("told_rates", "Message and data rates may apply"),
    ("told_help", "Reply HELP for help"),
    ("told_stop", "Reply STOP to stop texts at any time"),
]
#: The content key of the opt-in confirmation text.
TEXT_KEY = "prompts.sms.start"
#: The inbox item's detail when the confirmation did not go.
FAILED = {"text": "opt-in confirmation not sent", "call": "opt-in confirmation call not placed"}


@dataclass(frozen=True)
class ConsentGiven:
    """Consent to texts at the patient's number: who obtained it, how, when (naive UTC),
    and what the patient was told (one item a line)."""

    obtained_by: str
    method: str
    obtained_at: datetime
    disclosures: str

    def record_for(self, patient_id: int) -> Consent:
        return Consent(
            patient_id=patient_id,
            obtained_by=self.obtained_by.strip(),
            obtained_at=self.obtained_at,
            method=self.method,
            disclosures=self.disclosures,
        )


def everything_told() -> str:
    """Every disclosure, one a line: for a path where the person enrolling confirms them all."""
    return "\n".join(line for _, line in DISCLOSURES)


def enrol(details: NewPatient, consent: ConsentGiven, *, now: datetime) -> Patient:
    """Create the patient (their contact, MRN and date of birth where given), record the
    consent and the opt-in on their timeline, in the current session; the caller commits.

    :raise patients.EnrollmentError: invalid details, or the number is already enrolled.
    """
    patient = enroll(details)
    db.session.flush()
    db.session.add(consent.record_for(patient.id))
    record_opt_in(patient, now)
    return patient


def record_opt_in(patient: Patient, now: datetime) -> None:
    """Enrolment with consent is the patient's opt-in, kept on the timeline; a number that
    texted STOP stays opted out (STOP wins), so then there is nothing to record."""
    if not opt_outs.opted_out(patient.phone):
        record_event(
            "opted_in", patient.phone, patient_id=patient.id, channel="coordinator", at=now
        )


@dataclass(frozen=True)
class OptInSent:
    """What became of the opt-in confirmation: ``how`` (text or call) and ``outcome``
    (sent; opted_out: the number texted STOP, nothing was sent; failed: in the inbox)."""

    how: str
    outcome: str


def send_opt_in(patient: Patient) -> OptInSent:
    """Send the opt-in confirmation, after the enrolment is committed (a failed send never
    un-enrols anyone): a text in the patient's language, or a call for a patient who chose
    calls; unless the number has opted out (STOP wins). A failure becomes an inbox item.
    """
    how = "call" if patient.channel == "voice" else "text"
    if opt_outs.opted_out(patient.phone):
        return OptInSent(how, "opted_out")
    try:
        _call(patient) if how == "call" else _text(patient)
    except SendError:
        _failed(patient, how)
        return OptInSent(how, "failed")
    db.session.commit()
    return OptInSent(how, "sent")


def _text(patient: Patient) -> None:
    body = catalog().render(TEXT_KEY, patient.language, **site_values())
    send_sms(patient.phone, body, patient_id=patient.id, content_key=TEXT_KEY)


def _call(patient: Patient) -> None:
    """A patient who chose calls hears the confirmation on a call (confirmation_calls.py)."""
    call = prepare_call(patient.phone, patient_id=patient.id)
    call.content_key = CALL_KEY
    deliver(call, url=public_url(f"/twilio/confirmation-call/{call.id}"))


def _failed(patient: Patient, how: str) -> None:
    """The confirmation did not go: the failed row stays (outbound marks it), and the
    coordinators' inbox gets an item so a person can reach the patient another way."""
    failed = db.session.scalar(
        db.select(Message)
        .where(
            Message.patient_id == patient.id,
            Message.content_key == (CALL_KEY if how == "call" else TEXT_KEY),
        )
        .order_by(Message.id.desc())
        .limit(1)
    )
    contact = db.session.scalar(db.select(Contact).filter_by(phone=patient.phone))
    detail = FAILED[how]
    alerts.raise_alert("delivery_failed", contact, patient, detail=detail, message=failed)
    db.session.commit()
    log.warning("opt-in confirmation %s for patient %s failed", how, patient.id)
