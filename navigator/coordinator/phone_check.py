"""Lifting the lock on a patient's phone identity check.

After five wrong tries in a row the navigator stops checking the date of birth or PIN
keyed in from that number (see ``navigator.identity_check``), because caller ID can be
faked. Only a coordinator, who has spoken with the patient, allows the check again. The
change is audited, and the inbox item about the lock is marked done with it.
"""

from __future__ import annotations

import logging

from flask import abort, flash, redirect, url_for

from ..audit.records import record
from ..extensions import db
from ..models import Alert, Contact, Patient
from ..patients import identity_check
from .blueprint import bp
from .forms import ConfirmForm
from .inbox import mark_done

log = logging.getLogger(__name__)


@bp.app_template_test("phone_check_locked")
def phone_check_locked(contact: Contact | None) -> bool:
    """For the patient page: is this number locked out of the phone check?"""
    return identity_check.locked(contact)


@bp.post("/patients/<int:patient_id>/phone-check")
def allow_phone_check(patient_id: int):
    """Allow the phone check again for the patient's number, resetting the wrong tries.

    :raise 400: without a valid CSRF token.
    """
    patient = db.get_or_404(Patient, patient_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    contact = db.session.scalar(db.select(Contact).filter_by(phone=patient.phone))
    back = redirect(url_for("coordinator.patient", patient_id=patient.id))
    if contact is None or not identity_check.unlock(contact):
        flash("The phone check was not locked. Nothing changed.", "info")
        return back
    _resolve_lock_alerts(patient)
    record("allow_phone_check", "patient", patient.id, "phone check allowed again")
    db.session.commit()
    log.info("patient %s: phone check allowed again", patient.id)
    flash(
        "The phone check is allowed again. The patient can key in their date of birth or PIN.",
        "success",
    )
    return back


def _resolve_lock_alerts(patient: Patient) -> None:
    """The inbox item about the lock is dealt with by lifting it."""
    open_items = db.session.scalars(
        db.select(Alert).where(
            Alert.patient_id == patient.id,
            Alert.kind == identity_check.ALERT_KIND,
            Alert.resolved_at.is_(None),
        )
    )
    for alert in open_items:
        mark_done(alert)
