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

from .. import identity_check
from ..content import catalog
from ..extensions import db
from ..models import (
    Alert,
    Appointment,
    AuditEvent,
    Consent,
    Contact,
    Message,
    Patient,
    PatientEvent,
    utcnow,
)
from ..patient_events import record as record_event
from ..patients import EnrollmentError, NewPatient, enroll
from ..phones import to_e164
from . import bp
from .audit import record
from .forms import KIND_LABELS, ConsentFields, EnrollForm, SearchForm, parse_date, parse_time
from .preferences import apply_caregiver, apply_detailed_texts
from .workup import order_warnings, stage_views

log = logging.getLogger(__name__)

ALERT_LABELS = {
    "red_flag": "Warning sign reported",
    "voicemail": "Voicemail left",
    "callback": "Asked for a call back",
    "question": "Question for a person",
    "identity_locked": f"Phone check locked after {identity_check.TRIES} wrong tries",
    "reschedule": "Asked to reschedule",
    "delivery_failed": "Message not delivered",
}


#: Patients listed on one page of the list.
PAGE_SIZE = 50


@bp.route("/patients", methods=["GET", "POST"])
def patients():
    """Every enrolled patient, newest first, fifty a page, with a search by name or number.

    The search is a POST so that names and numbers never land in URLs, access logs or
    browser history; the pages of a search are POSTs too, carrying the words searched.
    """
    form = SearchForm()
    query = (form.q.data or "").strip() if form.validate_on_submit() else ""
    condition = _matching(query)
    total = db.session.scalar(db.select(db.func.count(Patient.id)).where(condition))
    pages = max(1, -(-total // PAGE_SIZE))
    asked = (request.form if request.method == "POST" else request.args).get("page", 1, type=int)
    page = min(max(asked or 1, 1), pages)
    found = db.session.scalars(
        db.select(Patient)
        .where(condition)
        .order_by(Patient.created_at.desc(), Patient.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return render_template(
        "coordinator/patients.html",
        patients=found,
        q=query,
        form=form,
        page=page,
        pages=pages,
        total=total,
        first=(page - 1) * PAGE_SIZE + 1,
        last=(page - 1) * PAGE_SIZE + len(found),
    )


def _matching(query: str):
    """Patients whose name holds ``query`` (% and _ are plain characters, not wildcards),
    or whose number holds its digits, when it has at least four: "555-0143", "(617) 555"."""
    if not query:
        return db.true()
    condition = Patient.name.icontains(query, autoescape=True)
    digits = "".join(ch for ch in query if ch.isdigit())
    if len(digits) >= 4:
        condition = condition | Patient.phone.contains(digits)
    return condition


def local_to_utc(day: str, at: str, zone: str) -> datetime:
    """A date and time typed in ``zone`` as naive UTC."""
    moment = datetime.combine(parse_date(day), parse_time(at)).replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def prefill_consent(form: ConsentFields) -> None:
    """Consent is usually recorded as it is given, by the coordinator at the keyboard."""
    now_local = datetime.now(ZoneInfo(current_user.timezone or "UTC"))
    form.consent_obtained_by.data = current_user.name or current_user.email
    form.consent_date.data = now_local.date().isoformat()
    form.consent_time.data = now_local.strftime("%H:%M")


def consent_from(form: ConsentFields, patient_id: int, first_line: str = "") -> Consent:
    """The consent recorded on ``form``; its time was typed in the coordinator's zone."""
    told = form.disclosures_text()
    return Consent(
        patient_id=patient_id,
        obtained_by=form.consent_obtained_by.data.strip(),
        obtained_at=local_to_utc(
            form.consent_date.data, form.consent_time.data, current_user.timezone or "UTC"
        ),
        method=form.consent_method.data,
        disclosures=f"{first_line}\n{told}" if first_line else told,
    )


@bp.route("/patients/new", methods=["GET", "POST"])
def enroll_patient():
    """Enroll a patient; on success send the opt-in confirmation in their language."""
    form = EnrollForm()
    if request.method == "GET":
        prefill_consent(form)
    if form.validate_on_submit():
        patient = _save_enrolment(form)
        if patient is not None:
            send_confirmation(patient)
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
        db.session.add(consent_from(form, patient.id))
        parts = ["consent"]
        caregiver = apply_caregiver(patient, form, now)
        if caregiver:
            parts.append(caregiver)
        parts.append("detailed texts" if patient.detailed_texts else "short texts")
        record("enroll", "patient", patient.id, ", ".join(parts))
        _record_consent_to_texts(patient, now)
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


def _record_consent_to_texts(patient: Patient, now: datetime) -> None:
    """Enrolment with consent is the patient's opt-in, kept on the timeline; a number that
    texted STOP stays opted out (STOP wins), so then there is nothing to record."""
    contact = db.session.scalar(db.select(Contact).filter_by(phone=patient.phone))
    if contact is None or not contact.opted_out:
        record_event(
            "opted_in", patient.phone, patient_id=patient.id, channel="coordinator", at=now
        )


def send_confirmation(patient: Patient, done: str = "Enrolled") -> None:
    """Text the opt-in confirmation, unless the number has opted out (STOP wins).

    ``done`` starts the coordinator's notice: what was saved before the text was tried.
    """
    contact = db.session.scalar(db.select(Contact).filter_by(phone=patient.phone))
    if contact is not None and contact.opted_out:
        flash(
            f"{done}. This number has texted STOP, so no confirmation was sent: "
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
            f"{done}, but the confirmation text could not be sent. "
            "It is listed in the inbox as a failed delivery.",
            "warning",
        )
        return
    flash(f"{done}. The confirmation text was sent.", "success")


@dataclass
class Event:
    at: datetime
    kind: str  # text-in, text-out, call-in, call-out, alert, opt-out, opt-in, appointment, change
    title: str
    detail: str = ""
    status: str = ""


def timeline(patient: Patient) -> list[Event]:
    """Everything that happened with this patient, newest first."""
    events: list[Event] = []
    messages = db.session.scalars(
        db.select(Message)
        .where((Message.patient_id == patient.id) | (Message.phone == patient.phone))
        .order_by(Message.id.desc())
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
    events += _patient_events(patient)
    for appt in patient.appointments:
        # Cancelling is final (and may come from the command line, which has no audit
        # row), so the current status is a faithful record of it.
        if appt.status == "cancelled":
            events.append(
                Event(
                    appt.updated_at,
                    "appointment",
                    f"Appointment cancelled: {KIND_LABELS.get(appt.kind, appt.kind)}",
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
    # A stable sort: rows read newest first stay so when two share a time.
    events.sort(key=lambda e: e.at, reverse=True)
    return events


EVENT_TITLES = {
    "opted_out": ("opt-out", "Opted out of texts and calls (STOP)"),
    "opted_in": ("opt-in", "Opted back in to texts (START)"),
    "confirmed": ("appointment", "Appointment confirmed"),
    "reschedule_requested": ("appointment", "Reschedule requested"),
}
CHANNEL_WORDS = {
    "sms": "By text",
    "voice": "By phone",
    "carrier": "Reported by the phone company (Twilio error 21610)",
}


def _patient_events(patient: Patient) -> list[Event]:
    """Each opt-out, opt-in, confirmation and reschedule request, as it happened.

    Read from the append-only record (never from the current state, which keeps only the
    latest of each), by patient and by number: a STOP texted before enrolment counts.
    """
    rows = db.session.execute(
        db.select(PatientEvent, Appointment.kind)
        .outerjoin(Appointment, Appointment.id == PatientEvent.appointment_id)
        .where((PatientEvent.patient_id == patient.id) | (PatientEvent.phone == patient.phone))
        .order_by(PatientEvent.id.desc())
    ).all()
    events = []
    for row, appointment_kind in rows:
        css, title = EVENT_TITLES.get(row.kind, ("change", row.kind.replace("_", " ")))
        if row.kind == "opted_in" and row.channel == "coordinator":
            title = "Agreed to texts at enrolment (consent recorded)"
        if appointment_kind:
            title += ": " + KIND_LABELS.get(appointment_kind, appointment_kind)
        events.append(Event(row.created_at, css, title, CHANNEL_WORDS.get(row.channel, "")))
    return events


def _delivery(message: Message) -> str:
    if message.direction == "in":
        return message.status if message.channel == "voice" else "received"
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
        alert_labels=ALERT_LABELS,
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
