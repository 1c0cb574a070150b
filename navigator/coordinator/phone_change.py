"""Changing a patient's mobile number: a typo at enrolment, or a new phone.

The number is where every text, reminder and next-visit answer goes, so a wrong one
sends a stranger the patient's visits. Consent to texts belongs to a number, so the new
one is recorded with its own consent, like enrolment. In one transaction: the number,
the consent, the conversation language of the new number, the re-planned reminders
(none stays addressed to the old number) and the audit row, which names the change but
never the numbers. Then the new number gets the opt-in confirmation. Earlier texts and
calls stay on the patient's timeline; the old number becomes an unknown caller, who
gets general information only.
"""

from __future__ import annotations

import logging

from flask import redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError

from ..audit.records import record
from ..core.phones import to_e164
from ..extensions import db
from ..models import Patient, utcnow
from ..patients import appointments
from ..patients.enrolment import contact_for
from .blueprint import bp
from .forms import PhoneChangeForm
from .patient_pages import consent_from, prefill_consent, send_confirmation

log = logging.getLogger(__name__)


@bp.route("/patients/<int:patient_id>/phone", methods=["GET", "POST"])
def change_phone(patient_id: int):
    """Give a patient a corrected or new mobile number, with consent to texts at it."""
    patient = db.get_or_404(Patient, patient_id)
    form = PhoneChangeForm()
    if request.method == "GET":
        prefill_consent(form)
    if form.validate_on_submit() and _save(patient, form):
        send_confirmation(patient, done="Mobile number changed")
        return redirect(url_for("coordinator.patient", patient_id=patient.id))
    status = 422 if request.method == "POST" else 200
    return render_template("coordinator/phone_change.html", form=form, patient=patient), status


def _refusal(patient: Patient, phone: str) -> str | None:
    """Why ``phone`` cannot become this patient's number, if it cannot."""
    if phone == patient.phone:
        return "This is already the patient's number."
    if any(caregiver.phone == phone for caregiver in patient.caregivers):
        return "This is the caregiver's number. The patient's number must differ from it."
    other = db.session.scalar(db.select(Patient).filter_by(phone=phone))
    if other is not None:
        return (
            f"This number is already enrolled, as {other.name}. Two patients cannot share a number."
        )
    return None


def _save(patient: Patient, form: PhoneChangeForm) -> bool:
    """Apply the change in one transaction; on a refusal put the message on the field."""
    phone = to_e164(form.phone.data)
    refusal = _refusal(patient, phone)
    if refusal:
        form.phone.errors.append(refusal)
        return False
    now = utcnow()
    try:
        patient.phone = phone
        db.session.add(consent_from(form, patient.id, first_line="New mobile number"))
        contact = contact_for(phone)
        contact.language, contact.language_chosen = patient.language, True
        appointments.replan(patient, now)
        record("edit", "patient", patient.id, "changed mobile number, consent at the new number")
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        form.phone.errors.append("This number is already enrolled. Find the patient in the list.")
        return False
    log.info("patient %s: mobile number changed", patient.id)
    return True
