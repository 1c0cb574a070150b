"""A caregiver's own consent: the opt-in confirmation texted to their number.

The patient agrees to a caregiver getting copies; the caregiver is told, on their own
phone, what they will get and how to stop it (STOP from their number stops their copies
only, START brings them back: opt-out belongs to a number, see ``Contact``). Sent after
the change is committed, so a failed text never undoes it; the coordinator is told.
"""

from __future__ import annotations

import logging

from flask import flash

from .. import opt_outs
from ..catalog import catalog, site_values
from ..extensions import db
from ..models import Caregiver
from ..telephony.outbound import SendError, send_sms

log = logging.getLogger(__name__)

KEY = "notices.caregiver.start"


def confirm_caregiver(caregiver: Caregiver) -> None:
    """Text the caregiver their confirmation, unless their number opted out or they are on
    record only; flash what happened. Commits the message row."""
    if caregiver.scope != "reminders":
        return
    if opt_outs.opted_out(caregiver.phone):
        flash(
            "The caregiver's number has texted STOP, so they get no copies until they text "
            "START from it.",
            "warning",
        )
        return
    language = caregiver.patient.language or "en"
    body = catalog().render(KEY, language, **site_values())
    try:
        send_sms(caregiver.phone, body, patient_id=caregiver.patient_id, content_key=KEY)
    except SendError:
        db.session.commit()
        log.warning("caregiver confirmation for patient %s failed", caregiver.patient_id)
        flash("The caregiver's confirmation text could not be sent.", "warning")
        return
    db.session.commit()
    flash("The caregiver was texted a confirmation, with how to stop their copies.", "success")
