"""Practice patients: enrolled records that are not people, for trying the navigator.

The try-it panel texts and calls the navigator through the real webhooks, so what it does
changes the caller's record: STOP opts them out, C confirms their appointment, a warning sign
raises an inbox alert. That is only safe on a record that is not a person. A practice patient
is a patient whose number is fictional (555-0100 to 555-0199, reserved for fiction:
``phones.is_fictional``). No phone answers such a number, and ``outbound`` keeps whatever is
sent to one in the local outbox even when a Twilio account is set. Being practice is a fact of
the number, so it needs no column of its own.

This module makes practice patients and finds them. They are enrolled as every patient is
(enrolment.py: consent, the opt-in; the caller sends the confirmation after its commit). It
does not commit and knows nothing of requests or of who is signed in.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import current_app

from .. import timefmt
from ..core.phones import is_fictional
from ..extensions import db
from ..models import Appointment, Caregiver, Contact, Patient
from .appointments import AppointmentError, schedule
from .consent import ConsentGiven, enrol
from .enrolment import NewPatient

#: The try-it panel's unknown callers, one per language (fictional, so never texted for real).
UNKNOWN_CALLERS = {"en": "+12025550198", "es": "+12025550197"}
#: Practice numbers are 555-0101 to 555-0199 in this area code (555-0100 is the demo line).
AREA_CODE = "202"
#: What a coordinator presses on a call to pass the phone identity check as any practice patient.
PIN = "2468"
BIRTH_DATE = date(1960, 3, 14)
#: How the consent of a practice patient is recorded: there is no one to consent.
CONSENT_METHOD = "practice record, not a person"
CONSENT_NOTE = "Nothing: this is a practice record, not a person."
#: Where the sample appointments are when the clinic has entered none yet.
FALLBACK_LOCATION = "Main clinic"
#: (kind, days from today, local time): a CT scan soon, then the biopsy it leads to.
SAMPLE_APPOINTMENTS = (("ct", 3, time(10, 0)), ("biopsy", 8, time(14, 0)))
#: A SQL LIKE that narrows the search to 555-01xx numbers; ``is_fictional`` has the last word.
_LIKE = "+1___55501__"


class PracticeError(Exception):
    """No practice patient can be made; the message says why, for a coordinator."""


def practice_patients(limit: int = 100) -> list[Patient]:
    """Every practice patient, oldest first."""
    found = db.session.scalars(
        db.select(Patient).where(Patient.phone.like(_LIKE)).order_by(Patient.id).limit(limit)
    )
    return [patient for patient in found if is_fictional(patient.phone)]


def is_practice(patient: Patient | None) -> bool:
    return patient is not None and is_fictional(patient.phone)


def free_number() -> str:
    """A fictional number no patient, caregiver or earlier caller has used.

    Numbers that ever texted or called (a contact row) are skipped too, so a new practice
    patient never inherits an opt-out or a half-finished menu.

    :raise PracticeError: all of them are taken.
    """
    config = current_app.config
    taken = {
        *UNKNOWN_CALLERS.values(),
        config.get("TWILIO_PHONE_NUMBER"),
        config.get("CARE_TEAM_PHONE"),
    }
    for column in (Patient.phone, Caregiver.phone, Contact.phone):
        taken.update(db.session.scalars(db.select(column).where(column.like(_LIKE))))
    for line in range(101, 200):
        number = f"+1{AREA_CODE}555{line:04d}"
        if number not in taken:
            return number
    raise PracticeError("Every practice number is in use. Use one of the practice patients listed.")


def _location() -> str:
    """The clinic's usual place: where its latest appointment is, else a plain default."""
    latest = db.session.scalar(
        db.select(Appointment.location).order_by(Appointment.created_at.desc()).limit(1)
    )
    return latest or FALLBACK_LOCATION


def create(language: str, made_by: str, now: datetime) -> Patient:
    """Enroll a practice patient with sample appointments; the caller commits.

    ``made_by`` names the coordinator in the consent record; ``now`` is UTC. The patient
    lives, and the appointments are, in the clinic's zone (``SITE_TIMEZONE``).

    :raise PracticeError: no fictional number is free.
    """
    zone = current_app.config.get("SITE_TIMEZONE") or "America/New_York"
    count = db.session.scalar(db.select(db.func.count(Patient.id)).where(Patient.phone.like(_LIKE)))
    patient = enrol(
        NewPatient(
            name=f"Practice patient {count + 1}",
            phone=free_number(),
            language=language,
            timezone=zone,
            channel="sms",
            date_of_birth=BIRTH_DATE,
            pin=PIN,
        ),
        ConsentGiven(made_by, CONSENT_METHOD, now, CONSENT_NOTE),
        now=now,
    )
    today = timefmt.local_date(now, zone)
    location = _location()
    for kind, days, at in SAMPLE_APPOINTMENTS:
        starts = datetime.combine(today + timedelta(days=days), at)
        try:
            schedule(patient, kind, starts, zone, location, now=now)
        except AppointmentError:
            # The latest location may predate a rule it breaks (a longer limit, say).
            location = FALLBACK_LOCATION
            schedule(patient, kind, starts, zone, location, now=now)
    return patient
