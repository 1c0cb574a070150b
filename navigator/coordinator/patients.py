"""Patients: the list, enrolment with recorded consent, and each patient's page.

Enrolment is one transaction: the patient, their contact, consent, caregiver and the
audit row are committed together or not at all. The opt-in confirmation text is sent
after that commit, so a failed send never un-enrolls anyone; it is shown instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from ..content import catalog
from ..extensions import db
from ..models import Alert, AuditEvent, Consent, Contact, Message, Patient, utcnow
from ..patients import EnrollmentError, NewPatient, enroll
from ..phones import to_e164
from . import bp
from .audit import record
from .forms import KIND_LABELS, EnrollForm, SearchForm, parse_date, parse_time
from .preferences import apply_caregiver, apply_detailed_texts
from .workup import order_warnings, stage_views

log = logging.getLogger(__name__)

ALERT_LABELS = {
    "red_flag": "Warning sign reported",
    "voicemail": "Voicemail left",
    "callback": "Asked for a call back",
    "reschedule": "Asked to reschedule",
    "delivery_failed": "Message not delivered",
}


@bp.route("/patients", methods=["GET", "POST"])
def patients():
    """Every enrolled patient, newest first, with a search by name or number.

    The search is a POST so that names and numbers never land in URLs, access logs or
    browser history.
    """
    form = SearchForm()
    query = (form.q.data or "").strip() if form.validate_on_submit() else ""
    select = db.select(Patient).order_by(Patient.created_at.desc(), Patient.id.desc())
    if query:
        digits = "".join(ch for ch in query if ch.isdigit())
        condition = Patient.name.ilike(f"%{query}%")
        if len(digits) >= 4:
            condition = condition | Patient.phone.contains(digits)
        select = select.where(condition)
    return render_template(
        "coordinator/patients.html",
        patients=db.session.scalars(select.limit(200)).all(),
        q=query,
        form=form,
    )


def local_to_utc(day: str, at: str, zone: str) -> datetime:
    """A date and time typed in ``zone`` as naive UTC."""
    moment = datetime.combine(parse_date(day), parse_time(at)).replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


@bp.route("/patients/new", methods=["GET", "POST"])
def enroll_patient():
    """Enroll a patient; on success send the opt-in confirmation in their language."""
    form = EnrollForm()
    if request.method == "GET":
        now_local = datetime.now(ZoneInfo(current_user.timezone or "UTC"))
        form.consent_obtained_by.data = current_user.name or current_user.email
        form.consent_date.data = now_local.date().isoformat()
        form.consent_time.data = now_local.strftime("%H:%M")
    if form.validate_on_submit():
        patient = _save_enrolment(form)
        if patient is not None:
            _send_confirmation(patient)
            return redirect(url_for("coordinator.patient", patient_id=patient.id))
    status = 422 if request.method == "POST" else 200
    return render_template("coordinator/enroll.html", form=form), status


def _save_enrolment(form: EnrollForm) -> Patient | None:
    """Save everything in one transaction; on a refusal put the message on the field."""
    existing = db.session.scalar(db.select(Patient).filter_by(phone=to_e164(form.phone.data)))
    if existing is not None:
        form.phone.errors.append(
            f"This number is already enrolled (patient #{existing.id}). "
            "Open their page from the patient list instead of enrolling again."
        )
        return None
    now = utcnow()
    try:
        patient = enroll(
            NewPatient(
                name=form.name.data,
                phone=form.phone.data,
                language=form.language.data,
                timezone=form.timezone.data,
                channel=form.channel.data,
            )
        )
        patient.quiet_start, patient.quiet_end = form.quiet_start.data[:5], form.quiet_end.data[:5]
        apply_detailed_texts(patient, form, now, enrolling=True)
        db.session.flush()
        db.session.add(
            Consent(
                patient_id=patient.id,
                obtained_by=form.consent_obtained_by.data.strip(),
                obtained_at=local_to_utc(
                    form.consent_date.data, form.consent_time.data, current_user.timezone or "UTC"
                ),
                method=form.consent_method.data,
                disclosures=form.disclosures_text(),
            )
        )
        parts = ["consent"]
        caregiver = apply_caregiver(patient, form, now)
        if caregiver:
            parts.append(caregiver)
        parts.append("detailed texts" if patient.detailed_texts else "short texts")
        record("enroll", "patient", patient.id, ", ".join(parts))
        db.session.commit()
    except EnrollmentError as exc:
        db.session.rollback()
        field = getattr(form, exc.field, form.name)
        field.errors.append(str(exc)[0].upper() + str(exc)[1:] + ".")
        return None
    except IntegrityError:
        db.session.rollback()
        form.phone.errors.append("This number is already enrolled. Find the patient in the list.")
        return None
    log.info("enrolled patient %s", patient.id)
    return patient


def _send_confirmation(patient: Patient) -> None:
    """Text the opt-in confirmation, unless the number has opted out (STOP wins)."""
    contact = db.session.scalar(db.select(Contact).filter_by(phone=patient.phone))
    if contact is not None and contact.opted_out:
        flash(
            "Enrolled. This number has texted STOP, so no confirmation was sent: "
            "the patient must text START to receive texts.",
            "warning",
        )
        return
    from ..outbound import SendError, send_sms  # built alongside; imported when used

    body = catalog().render(
        "prompts.sms.start", patient.language, program=current_app.config["PROGRAM_NAME"]
    )
    try:
        send_sms(patient.phone, body, patient_id=patient.id, content_key="prompts.sms.start")
        db.session.commit()
    except SendError:
        # The failed row stays (outbound marks it); the inbox shows it to a person.
        failed = db.session.scalar(
            db.select(Message)
            .where(Message.patient_id == patient.id, Message.content_key == "prompts.sms.start")
            .order_by(Message.id.desc())
        )
        db.session.add(
            Alert(
                kind="delivery_failed",
                phone=patient.phone,
                patient_id=patient.id,
                message_id=failed.id if failed else None,
                detail="opt-in confirmation not sent",
            )
        )
        db.session.commit()
        log.warning("opt-in confirmation for patient %s failed", patient.id)
        flash(
            "Enrolled, but the confirmation text could not be sent. "
            "It is listed in the inbox as a failed delivery.",
            "warning",
        )
        return
    flash("Enrolled. The confirmation text was sent.", "success")


@dataclass
class Event:
    at: datetime
    kind: str  # text-in, text-out, call-in, call-out, alert, opt-out, opt-in, change
    title: str
    detail: str = ""
    status: str = ""


def timeline(patient: Patient) -> list[Event]:
    """Everything that happened with this patient, newest first."""
    events: list[Event] = []
    messages = db.session.scalars(
        db.select(Message).where(
            (Message.patient_id == patient.id) | (Message.phone == patient.phone)
        )
    ).all()
    for m in messages:
        who = "" if m.phone == patient.phone else f" ({m.phone})"
        if m.channel == "voice":
            kind = "call-in" if m.direction == "in" else "call-out"
            title = ("Call from patient" if m.direction == "in" else "Call to patient") + who
        else:
            kind = "text-in" if m.direction == "in" else "text-out"
            title = ("Text from patient" if m.direction == "in" else "Text to patient") + who
            if m.direction == "out" and m.transport == "outbox":
                title += " (outbox)"
        events.append(Event(m.created_at, kind, title, m.body, _delivery(m)))
    for a in db.session.scalars(db.select(Alert).filter_by(patient_id=patient.id)):
        state = f"done {a.resolved_at:%Y-%m-%d}" if a.resolved_at else "open"
        events.append(
            Event(a.created_at, "alert", ALERT_LABELS.get(a.kind, a.kind), a.detail, state)
        )
    contact = db.session.scalar(db.select(Contact).filter_by(phone=patient.phone))
    if contact is not None and contact.opted_out_at:
        events.append(Event(contact.opted_out_at, "opt-out", "Opted out of texts (STOP)"))
    if contact is not None and contact.opted_in_at:
        events.append(Event(contact.opted_in_at, "opt-in", "Opted back in to texts (START)"))
    for appt in patient.appointments:
        if appt.status in ("confirmed", "reschedule_requested", "cancelled"):
            title = {
                "confirmed": "Appointment confirmed",
                "reschedule_requested": "Reschedule requested",
                "cancelled": "Appointment cancelled",
            }[appt.status]
            events.append(
                Event(
                    appt.updated_at,
                    "appointment",
                    f"{title}: {KIND_LABELS.get(appt.kind, appt.kind)}",
                )
            )
    for change in db.session.scalars(
        db.select(AuditEvent).filter_by(entity="patient", entity_id=patient.id)
    ):
        events.append(
            Event(
                change.created_at,
                "change",
                "Coordinator: " + change.action.replace("_", " "),
                change.detail,
            )
        )
    events.sort(key=lambda e: e.at, reverse=True)
    return events


def _delivery(message: Message) -> str:
    if message.direction == "in":
        return "received"
    status = message.status or ""
    if message.error_code:
        status += f" (error {message.error_code})"
    return status


@bp.get("/patients/<int:patient_id>")
def patient(patient_id: int):
    """One patient: details, consent, appointments, workup and the timeline."""
    patient = db.get_or_404(Patient, patient_id)
    stages = stage_views(patient)
    contact = db.session.scalar(db.select(Contact).filter_by(phone=patient.phone))
    upcoming = [a for a in patient.appointments]
    return render_template(
        "coordinator/patient.html",
        patient=patient,
        contact=contact,
        stages=stages,
        warnings=order_warnings(stages),
        events=timeline(patient),
        appointments=upcoming,
        kind_labels=KIND_LABELS,
        open_alerts=db.session.scalar(
            db.select(db.func.count(Alert.id)).where(
                Alert.patient_id == patient.id, Alert.resolved_at.is_(None)
            )
        ),
    )
