"""Date of birth and PIN, the two things a caller keys in before hearing their visit.

Both are optional, set at enrolment or on "change details", and audited without their
values. The PIN is made by the app (six random digits), stored only as a hash, and shown
to the coordinator once, to tell the patient; after that nobody can read it, only make a
new one. ``phone_check_state`` says on the patient page whether the check can work.
"""

from __future__ import annotations

import secrets
from datetime import date

from flask import flash
from flask_wtf import FlaskForm
from werkzeug.security import generate_password_hash
from wtforms import BooleanField, StringField
from wtforms.validators import Optional, ValidationError

from ..models import Contact, Patient
from ..patients import identity_check

PIN_DIGITS = 6


def _born(text: str | None) -> date | None:
    return date.fromisoformat(text.strip()) if text and text.strip() else None


def _past_date(form, field):
    try:
        born = _born(field.data)
    except ValueError:
        raise ValidationError(
            "Enter the date of birth as YYYY-MM-DD, for example 1961-04-23."
        ) from None
    if not date(1900, 1, 1) <= born < date.today():
        raise ValidationError("Enter a date of birth in the past, after 1900.")


class IdentityFields(FlaskForm):
    """Mixed into the enrolment and "change details" forms."""

    date_of_birth = StringField(
        "Date of birth (optional)",
        description="The patient keys it in on a call (month, day, year) to hear their visit.",
        validators=[Optional(), _past_date],
    )
    new_pin = BooleanField("Make a new 6-digit PIN for calls (shown once, to tell the patient)")
    remove_pin = BooleanField("Remove the PIN")


def apply_identity(patient: Patient, form: IdentityFields) -> list[str]:
    """Set the date of birth and PIN from ``form``; what changed, in words, no values.

    A new PIN is flashed once for the coordinator to tell the patient.
    """
    changed = []
    born = _born(form.date_of_birth.data)
    if born != patient.date_of_birth:
        patient.date_of_birth = born
        changed.append("date of birth")
    if form.new_pin.data:
        pin = "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS))
        patient.pin_hash = generate_password_hash(pin)
        changed.append("new PIN")
        flash(
            f"New PIN for calls: {pin}. Tell the patient now: it is not shown again.",
            "pin",
        )
    elif form.remove_pin.data and patient.pin_hash:
        patient.pin_hash = None
        changed.append("PIN removed")
    return changed


def phone_check_state(patient: Patient, contact: Contact | None) -> str:
    """Can this patient pass the phone check before hearing their visit? In words."""
    if identity_check.locked(contact):
        return "Locked after wrong tries: allow it again below."
    ways = []
    if patient.date_of_birth:
        ways.append("date of birth")
    if patient.pin_hash:
        ways.append("PIN")
    if not ways:
        return "Cannot work: no date of birth or PIN is on record. Add one in Change details."
    return "Works with the " + " or ".join(ways) + "."
