"""Enrolling patients and finding who a phone number belongs to.

One place decides what a valid patient is, so the CLI and the coordinator app agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import current_app
from werkzeug.security import generate_password_hash

from ..core.content import LANGUAGES
from ..core.phones import InvalidPhone, to_e164
from ..extensions import db
from ..models import Contact, Patient, contact_upsert, utcnow
from .workups import start_workup

CHANNELS = ("sms", "voice")


class EnrollmentError(ValueError):
    """The details given cannot make a patient; ``field`` says which one."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def check_timezone(name: str) -> str:
    """:raise EnrollmentError: ``name`` is not an IANA zone such as America/Chicago."""
    if not name or name not in available_timezones():
        raise EnrollmentError(
            "timezone", f"unknown time zone {name!r} (use a name like America/Chicago)"
        )
    try:
        ZoneInfo(name)
    except ZoneInfoNotFoundError:
        raise EnrollmentError("timezone", f"unknown time zone {name!r}") from None
    return name


@dataclass
class NewPatient:
    name: str
    phone: str
    language: str = "en"
    timezone: str = "America/New_York"
    channel: str = "sms"
    date_of_birth: date | None = None
    pin: str | None = None
    suspected_on: date | None = None
    mrn: str | None = None
    mrn_authority: str | None = None


def validate(details: NewPatient) -> NewPatient:
    """Normalise and check every field.

    :raise EnrollmentError: the first field that is wrong, with a message for people.
    """
    name = (details.name or "").strip()
    if not name:
        raise EnrollmentError("name", "a name is required")
    try:
        phone = to_e164(details.phone)
    except InvalidPhone:
        raise EnrollmentError("phone", f"{details.phone!r} is not a valid mobile number") from None
    if details.language not in LANGUAGES:
        raise EnrollmentError("language", f"language must be one of {', '.join(LANGUAGES)}")
    if details.channel not in CHANNELS:
        raise EnrollmentError("channel", f"channel must be one of {', '.join(CHANNELS)}")
    check_timezone(details.timezone)
    if details.pin is not None and not (details.pin.isdigit() and 4 <= len(details.pin) <= 8):
        raise EnrollmentError("pin", "a PIN is 4 to 8 digits")
    mrn, authority = check_mrn(details.mrn, details.mrn_authority)
    return NewPatient(
        name,
        phone,
        details.language,
        details.timezone,
        details.channel,
        details.date_of_birth,
        details.pin,
        details.suspected_on,
        mrn,
        authority,
    )


def check_mrn(
    mrn: str | None, authority: str | None, except_phone: str | None = None
) -> tuple[str | None, str | None]:
    """The MRN and its assigning authority, trimmed; (None, None) without an MRN.

    The authority defaults to ``HL7_MRN_AUTHORITY``. The scheduling feed matches on MRN,
    authority AND date of birth: without a date of birth on file its appointments wait
    for a coordinator. ``except_phone``: the patient being edited, who may keep theirs.

    :raise EnrollmentError: a malformed MRN, or one another patient has.
    """
    mrn = (mrn or "").strip()
    if not mrn:
        return None, None
    if len(mrn) > 40 or any(ch in mrn for ch in "|^~\\&"):
        raise EnrollmentError("mrn", "an MRN is up to 40 letters and digits")
    authority = (authority or "").strip() or current_app.config["HL7_MRN_AUTHORITY"]
    taken = db.session.scalar(
        db.select(Patient.id).where(
            Patient.mrn == mrn,
            Patient.mrn_authority == authority[:60],
            Patient.phone != (except_phone or ""),
        )
    )
    if taken:
        raise EnrollmentError("mrn", "another patient has this MRN")
    return mrn, authority[:60]


def enroll(details: NewPatient) -> Patient:
    """Create the patient (and its contact) in the current session; the caller commits.

    :raise EnrollmentError: invalid details, or the number is already enrolled.
    """
    details = validate(details)
    if db.session.scalar(db.select(Patient).filter_by(phone=details.phone)):
        raise EnrollmentError("phone", "this number is already enrolled")
    quiet_start, quiet_end = current_app.config["QUIET_HOURS"].split("-")
    patient = Patient(
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        name=details.name,
        phone=details.phone,
        language=details.language,
        timezone=details.timezone,
        channel=details.channel,
        date_of_birth=details.date_of_birth,
        pin_hash=generate_password_hash(details.pin) if details.pin else None,
        mrn=details.mrn,
        mrn_authority=details.mrn_authority,
    )
    db.session.add(patient)
    db.session.flush()
    start_workup(patient.id, details.suspected_on)
    contact = contact_for(details.phone)
    contact.language = details.language
    contact.language_chosen = True
    return patient


def contact_for(phone: str) -> Contact:
    """The contact row for ``phone``, made if it is new, in one round trip.

    An upsert (INSERT ... ON CONFLICT DO UPDATE ... RETURNING) rather than a select then
    an insert: it is one statement on the hot path of every webhook, and two first
    messages from one number arriving at once cannot both try to create the row.
    """
    now = utcnow()
    statement = contact_upsert(phone, now).returning(Contact)
    return db.session.scalars(statement, execution_options={"populate_existing": True}).one()


def patient_for(phone: str) -> Patient | None:
    return db.session.scalar(db.select(Patient).filter_by(phone=phone))
