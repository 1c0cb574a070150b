"""Answering the patient from the app: a text (typed, or a saved one in their language),
and a call that rings the coordinator's own phone first, then puts the patient through.

Both go through ``outbound`` (Twilio's REST API, or the outbox in the embedded mode), so
they are ``Message`` rows on the timeline with their delivery status, and the patient's
replies land in the same thread (the timeline reads every message of their number). A
number that opted out (STOP, or "stop calling me") gets neither, and the page says so.
The audit row names the action, never the words.
"""

from __future__ import annotations

import logging

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from .. import timefmt
from ..audit.records import record
from ..catalog import catalog, site_values
from ..channels.coordinator_calls import CALL_KEY
from ..core import gsm
from ..core.phones import for_humans, to_e164
from ..extensions import db
from ..models import Contact, Patient, utcnow
from ..reminders.planning import in_quiet_hours
from ..telephony.outbound import SendError, deliver, prepare_call, public_url, send_sms
from .blueprint import bp
from .contact_forms import CallForm, TextForm
from .forms import options

log = logging.getLogger(__name__)

#: ``Message.content_key`` of a text typed by a coordinator; saved ones keep their own key.
TYPED_KEY = "coordinator.text"
TEMPLATE_PREFIX = "notices.templates."
SEGMENT = {"en": 160, "es": 70}  # one segment: GSM-7 in English, UCS-2 once accents appear


def template_choices(language: str) -> list[tuple[str, str]]:
    """The saved texts, each as it would read to this patient."""
    content = catalog()
    keys = sorted(k for k in content.strings[language] if k.startswith(TEMPLATE_PREFIX))
    return [(k.removeprefix(TEMPLATE_PREFIX), render_template_text(k, language)) for k in keys]


def render_template_text(key: str, language: str) -> str:
    return catalog().render(key, language, **site_values())


def segments(text: str, language: str) -> int:
    """How many text messages ``text`` is sent as (what the patient may be charged for)."""
    single = SEGMENT["es"] if language == "es" and text != gsm.to_gsm7(text) else SEGMENT["en"]
    if len(text) <= single:
        return 1
    per = single - (3 if single == SEGMENT["es"] else 7)  # the header of a long message
    return -(-len(text) // per)


def _blocked(contact: Contact | None) -> str:
    """Why the navigator may not contact this number, or "" when it may."""
    if contact is not None and contact.opted_out:
        return (
            "This number opted out (STOP or 'stop calling me'), so the navigator will not "
            "text or call it. The patient can text START to rejoin. Call from your own "
            "clinic phone if you must reach them."
        )
    return ""


def _page(patient: Patient, text_form: TextForm, call_form: CallForm, status: int = 200):
    contact = db.session.scalar(db.select(Contact).filter_by(phone=patient.phone))
    local = timefmt.now_in(patient.timezone)
    return render_template(
        "coordinator/patient_contact.html",
        patient=patient,
        text_form=text_form,
        call_form=call_form,
        blocked=_blocked(contact),
        consent=patient.consents[-1] if patient.consents else None,
        local_time=local.strftime("%H:%M"),
        quiet=in_quiet_hours(patient, utcnow()),
        segment=SEGMENT,
    ), status


def _forms(patient: Patient, posted: str = "") -> tuple[TextForm, CallForm]:
    """Both forms of the page; the one ``posted`` ("text" or "call") reads the request."""
    text_form = TextForm() if posted == "text" else TextForm(formdata=None)
    text_form.template.choices = options([("", "Type my own")] + template_choices(patient.language))
    call_form = CallForm() if posted == "call" else CallForm(formdata=None)
    if posted != "call" and current_user.phone:
        call_form.my_phone.data = for_humans(current_user.phone)
    return text_form, call_form


def _refused(patient: Patient, forms: tuple[TextForm, CallForm], form, what: str):
    """The page again when ``form`` is wrong (422) or the number opted out (409), else None."""
    if not form.validate_on_submit():
        return _page(patient, *forms, 422)
    contact = db.session.scalar(db.select(Contact).filter_by(phone=patient.phone))
    reason = _blocked(contact)
    if reason:
        flash(f"Not {what}. {reason}", "error")
        return _page(patient, *forms, 409)
    return None


@bp.get("/patients/<int:patient_id>/contact")
def contact_patient(patient_id: int):
    """Text or call the patient: consent and STOP are said before anything is sent."""
    patient = db.get_or_404(Patient, patient_id)
    return _page(patient, *_forms(patient))


@bp.post("/patients/<int:patient_id>/text")
def text_patient(patient_id: int):
    """Send the typed or saved text now; it goes on the timeline with its delivery status.

    Refused, with the reason on the page, for a number that opted out.
    """
    patient = db.get_or_404(Patient, patient_id)
    forms = _forms(patient, "text")
    refused = _refused(patient, forms, forms[0], "sent")
    if refused:
        return refused
    text_form = forms[0]
    if text_form.template.data:
        key = TEMPLATE_PREFIX + text_form.template.data
        body = render_template_text(key, patient.language)
    else:
        key, body = TYPED_KEY, text_form.body.data.strip()
    try:
        message = send_sms(patient.phone, body, patient_id=patient.id, content_key=key)
        message.coordinator_id = current_user.id
    except SendError:
        db.session.commit()  # the failed row stays on the timeline
        flash("The text could not be sent. It is on the timeline as failed.", "error")
        return redirect(url_for("coordinator.patient", patient_id=patient.id, _anchor="timeline"))
    record("text_patient", "message", message.id, "sent a text", patient_id=patient.id)
    db.session.commit()
    log.info("coordinator text %s to patient %s", message.id, patient.id)
    where = "kept in the outbox" if message.transport == "outbox" else "sent"
    flash(f"Text {where}. Its delivery status is on the timeline.", "success")
    return redirect(url_for("coordinator.patient", patient_id=patient.id, _anchor="timeline"))


@bp.post("/patients/<int:patient_id>/call")
def call_patient(patient_id: int):
    """Ring the coordinator's phone; when they answer, Twilio connects the patient.

    The coordinator's number is kept for next time. Refused for a number that opted out.
    """
    patient = db.get_or_404(Patient, patient_id)
    forms = _forms(patient, "call")
    refused = _refused(patient, forms, forms[1], "called")
    if refused:
        return refused
    call_form = forms[1]
    mine = to_e164(call_form.my_phone.data)
    if mine != current_user.phone:
        current_user.phone = mine
        record("edit", "coordinator", current_user.id, "changed own phone for calls")
    leg = prepare_call(mine, patient_id=patient.id)
    leg.content_key, leg.coordinator_id = CALL_KEY, current_user.id
    try:
        deliver(leg, url=public_url(f"/twilio/coordinator-call/{leg.id}"))
    except SendError:
        db.session.commit()
        flash("The call could not be started. Try again, or call from your own phone.", "error")
        return redirect(url_for("coordinator.patient", patient_id=patient.id))
    record("call_patient", "message", leg.id, "started a call", patient_id=patient.id)
    db.session.commit()
    if leg.transport == "outbox":
        flash("Call kept in the outbox (no Twilio account): no phone rings.", "info")
    else:
        flash(
            f"Calling your phone {for_humans(mine)} now. Answer it and the patient is connected.",
            "success",
        )
    return redirect(url_for("coordinator.patient", patient_id=patient.id, _anchor="timeline"))
