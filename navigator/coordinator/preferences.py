"""Changing an enrolled patient's preferences, and the parts enrolment shares with it.

A change is one transaction: the patient's fields, their caregiver, the conversation
language of their number, the re-planned reminders of every upcoming appointment (a new
zone, quiet hours, channel or caregiver changes when and how reminders go) and the audit
row naming the fields changed, never their values.
"""

from __future__ import annotations

from datetime import datetime

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..audit.records import record
from ..core.phones import to_e164
from ..extensions import db
from ..models import Caregiver, Contact, Patient, utcnow
from ..patients import appointments
from ..patients.enrolment import check_mrn
from .blueprint import bp
from .caregiver_consent import confirm_caregiver
from .forms import PatientEditForm, PatientForm
from .identity_fields import apply_identity

#: Patient fields the edit form sets directly, with the words the audit log uses.
PLAIN_FIELDS = {
    "name": "name",
    "language": "language",
    "channel": "reminders by",
    "timezone": "time zone",
}


def apply_detailed_texts(
    patient: Patient, form: PatientForm, now: datetime, *, enrolling: bool = False
) -> bool:
    """Record the detailed-texts choice with when and how (always at enrolment, later only
    when it changes); True if it was recorded."""
    chosen = form.detailed_texts.data == "yes"
    if not enrolling and bool(patient.detailed_texts) == chosen:
        return False
    patient.detailed_texts = chosen
    patient.detailed_texts_at = now
    patient.detailed_texts_how = (
        (form.detailed_how.data.strip() + "; told texts are not secure")[:200]
        if chosen
        else "chose short texts without details"
    )
    return True


def apply_caregiver(patient: Patient, form: PatientForm, now: datetime) -> str | None:
    """Add, change or remove the patient's caregiver; what happened, for the audit log."""
    current = patient.caregivers[0] if patient.caregivers else None
    phone = to_e164(form.caregiver_phone.data) if form.caregiver_phone.data else None
    if phone is None:
        if current is None:
            return None
        patient.caregivers.remove(current)
        db.session.delete(current)
        return "caregiver removed"
    details = {
        "name": (form.caregiver_name.data or "").strip() or None,
        "scope": form.caregiver_scope.data,
        "timezone": (form.caregiver_timezone.data or "").strip() or None,
    }
    if current is not None and current.phone == phone:
        changed = [k for k, v in details.items() if getattr(current, k) != v]
        for key in changed:
            setattr(current, key, details[key])
        return f"caregiver {', '.join(changed)}" if changed else None
    if current is not None:
        patient.caregivers.remove(current)
        db.session.delete(current)
    patient.caregivers.append(
        Caregiver(
            phone=phone,
            consent_at=now,
            consent_how=f"recorded by coordinator #{current_user.id}",
            **details,
        )
    )
    return f"caregiver ({details['scope']})"


def _form_for(patient: Patient) -> PatientEditForm:
    caregiver = patient.caregivers[0] if patient.caregivers else None
    form = PatientEditForm(own_phone=patient.phone)
    if request.method == "GET":
        for field in PLAIN_FIELDS:
            getattr(form, field).data = getattr(patient, field)
        form.quiet_start.data, form.quiet_end.data = patient.quiet_start, patient.quiet_end
        form.detailed_texts.data = "yes" if patient.detailed_texts else "no"
        form.detailed_told_not_secure.data = bool(patient.detailed_texts)
        form.mrn.data, form.mrn_authority.data = patient.mrn, patient.mrn_authority
        if patient.date_of_birth:
            form.date_of_birth.data = patient.date_of_birth.isoformat()
        if caregiver is not None:
            form.caregiver_phone.data = caregiver.phone
            form.caregiver_name.data = caregiver.name
            form.caregiver_timezone.data = caregiver.timezone or ""
            form.caregiver_scope.data = caregiver.scope
    return form


@bp.route("/patients/<int:patient_id>/edit", methods=["GET", "POST"])
def edit_patient(patient_id: int):
    """Change a patient's name, language, channel, zone, quiet hours, texts and caregiver."""
    patient = db.get_or_404(Patient, patient_id)
    form = _form_for(patient)
    if form.validate_on_submit():
        had = {c.phone for c in patient.caregivers}
        changed = _save(patient, form)
        for caregiver in patient.caregivers:
            if caregiver.phone not in had:  # a new number: its own confirmation
                confirm_caregiver(caregiver)
        if changed:
            flash(
                "Saved: " + ", ".join(changed) + ". Upcoming reminders were planned again.",
                "success",
            )
        else:
            flash("Nothing was changed.", "info")
        return redirect(url_for("coordinator.patient", patient_id=patient.id))
    status = 422 if request.method == "POST" else 200
    return render_template("coordinator/patient_edit.html", form=form, patient=patient), status


def _save(patient: Patient, form: PatientEditForm) -> list[str]:
    """Apply the form in one transaction; the names of what changed."""
    now = utcnow()
    changed = []
    for field, label in PLAIN_FIELDS.items():
        value = getattr(form, field).data.strip() if field == "name" else getattr(form, field).data
        if getattr(patient, field) != value:
            setattr(patient, field, value)
            changed.append(label)
    quiet = (form.quiet_start.data[:5], form.quiet_end.data[:5])
    if (patient.quiet_start, patient.quiet_end) != quiet:
        patient.quiet_start, patient.quiet_end = quiet
        changed.append("quiet hours")
    record_number = check_mrn(form.mrn.data, form.mrn_authority.data, patient.phone)
    if (patient.mrn, patient.mrn_authority) != record_number:
        patient.mrn, patient.mrn_authority = record_number
        changed.append("MRN")
    if apply_detailed_texts(patient, form, now):
        changed.append("detailed texts")
    caregiver = apply_caregiver(patient, form, now)
    if caregiver:
        changed.append(caregiver)
    changed += apply_identity(patient, form)
    if not changed:
        return []
    if "language" in changed:
        contact = db.session.scalar(db.select(Contact).filter_by(phone=patient.phone))
        if contact is not None:
            contact.language, contact.language_chosen = patient.language, True
    appointments.replan(patient, now)
    record("edit", "patient", patient.id, "changed " + ", ".join(changed))
    db.session.commit()
    return changed
