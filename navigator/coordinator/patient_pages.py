"""Patients: the list, enrolment with recorded consent, and each patient's page.

Enrolment is one transaction: the patient, their contact, consent, caregiver and the
audit row are committed together or not at all. The opt-in confirmation is sent after
that commit, so a failed send never un-enrolls anyone; it is shown instead. What
enrolment is (consent, the opt-in and its confirmation) is enrolment.py's, shared with
practice patients and the command line; this module adds the form and the notices.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from .. import timefmt
from ..audit.records import VIEW_ACTIONS, action_words, record
from ..core.name_search import fold
from ..core.phones import to_e164
from ..extensions import db
from ..models import (
    KIND_LABELS,
    Alert,
    Appointment,
    AuditEvent,
    Consent,
    Contact,
    Coordinator,
    Message,
    Patient,
    PatientEvent,
    utcnow,
)
from ..patients import identity_check
from ..patients.consent import ConsentGiven, enrol, send_opt_in
from ..patients.enrolment import EnrollmentError, NewPatient
from ..patients.workup_path import STEP_LABELS
from ..patients.workups import BARRIER_LABELS, Barrier, CoordinatorNote, barriers_of
from . import searches
from .blueprint import bp
from .caregiver_consent import confirm_caregiver
from .forms import ConsentFields, EnrollForm, SearchForm, parse_date, parse_time
from .identity_fields import apply_identity, phone_check_state
from .preferences import apply_caregiver, apply_detailed_texts
from .results import changes, results_of
from .workup import order_warnings, study_views, workup_for
from .workup_forms import BarrierForm, NoteForm

log = logging.getLogger(__name__)

ALERT_LABELS = {
    "red_flag": "Warning sign reported",
    "voicemail": "Voicemail left",
    "callback": "Asked for a call back",
    "question": "Question for a person",
    "identity_locked": f"Phone check locked after {identity_check.TRIES} wrong tries",
    "reschedule": "Asked to reschedule",
    "notice_waiting": "Appointment change to tell the patient",
    "delivery_failed": "Message not delivered",
}


#: Patients listed on one page of the list.
PAGE_SIZE = 50


@bp.get("/patients")
def patients():
    """Every enrolled patient, newest first, fifty a page, or those a search found.

    A search is sent as a POST (``search_patients``), kept in the session under a short
    random token, and shown here as a GET of that token: so Back and Reload work, and
    names and numbers never land in URLs, access logs or browser history.
    """
    query = searches.query_for(request.args.get("s", ""))
    form = SearchForm(formdata=None, q=query)
    condition = _matching(query)
    total = db.session.scalar(db.select(db.func.count(Patient.id)).where(condition))
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    found = db.session.scalars(
        db.select(Patient)
        .where(condition)
        .order_by(Patient.created_at.desc(), Patient.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    expired = bool(request.args.get("s")) and not query
    return render_template(
        "coordinator/patients.html",
        patients=found,
        q=query,
        token=request.args.get("s", "") if query else "",
        expired=expired,
        form=form,
        page=page,
        pages=pages,
        total=total,
        first=(page - 1) * PAGE_SIZE + 1,
        last=(page - 1) * PAGE_SIZE + len(found),
    )


@bp.post("/patients")
def search_patients():
    """Keep the words searched in the session and show the results as a GET (303)."""
    form = SearchForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return redirect(url_for("coordinator.patients"), 303)
    query = (form.q.data or "").strip()
    if not query:
        return redirect(url_for("coordinator.patients"), 303)
    return redirect(url_for("coordinator.patients", s=searches.remember(query)), 303)


def _matching(query: str):
    """Patients whose folded name holds the folded query (accents, case and punctuation
    ignored: "hernandez" finds "Hernández", "oconnor" "O'Connor"), or whose number holds its
    digits, when it has at least four, however written: "555-0143", "(617) 555", "+1 617"."""
    if not query:
        return db.true()
    folded = fold(query)
    if folded:
        condition = Patient.search_name.contains(folded, autoescape=True)
    else:  # only punctuation ("_"): look for it as typed
        condition = Patient.name.icontains(query, autoescape=True)
    digits = "".join(ch for ch in query if ch.isdigit())
    if len(digits) >= 4:
        condition = condition | Patient.phone.contains(digits)
    return condition


def local_to_utc(day: str, at: str, zone: str) -> datetime:
    """A date and time typed in ``zone`` as naive UTC."""
    return timefmt.wall_to_utc(datetime.combine(parse_date(day), parse_time(at)), zone)


def prefill_consent(form: ConsentFields) -> None:
    """Consent is usually recorded as it is given, by the coordinator at the keyboard."""
    now_local = timefmt.now_in(current_user.timezone or "UTC")
    form.consent_obtained_by.data = current_user.name or current_user.email
    form.consent_date.data = now_local.date().isoformat()
    form.consent_time.data = now_local.strftime("%H:%M")


def consent_given(form: ConsentFields, first_line: str = "") -> ConsentGiven:
    """The consent recorded on ``form``; its time was typed in the coordinator's zone."""
    told = form.disclosures_text()
    return ConsentGiven(
        obtained_by=form.consent_obtained_by.data,
        method=form.consent_method.data,
        obtained_at=local_to_utc(
            form.consent_date.data, form.consent_time.data, current_user.timezone or "UTC"
        ),
        disclosures=f"{first_line}\n{told}" if first_line else told,
    )


def consent_from(form: ConsentFields, patient_id: int, first_line: str = "") -> Consent:
    """The consent row for ``form`` (a new number's consent, for a patient already enrolled)."""
    return consent_given(form, first_line).record_for(patient_id)


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
            for caregiver in patient.caregivers:
                confirm_caregiver(caregiver)
            return redirect(url_for("coordinator.patient", patient_id=patient.id))
    status = 422 if request.method == "POST" else 200
    return render_template("coordinator/enroll.html", form=form), status


def _save_enrolment(form: EnrollForm) -> Patient | None:
    """Save everything in one transaction; on a refusal put the message on the field."""
    existing = db.session.scalar(db.select(Patient).filter_by(phone=to_e164(form.phone.data)))
    if existing is not None:
        form.phone.errors.append(
            f"This number is already enrolled, as {existing.name}. "
            "Open their page from the patient list instead of enrolling again."
        )
        return None
    now = utcnow()
    try:
        patient = enrol(
            NewPatient(
                name=form.name.data,
                phone=form.phone.data,
                language=form.language.data,
                timezone=form.timezone.data,
                channel=form.channel.data,
                suspected_on=parse_date(form.suspected_on.data) if form.suspected_on.data else None,
                mrn=form.mrn.data,
                mrn_authority=form.mrn_authority.data,
            ),
            consent_given(form),
            now=now,
        )
        patient.quiet_start, patient.quiet_end = form.quiet_start.data[:5], form.quiet_end.data[:5]
        apply_detailed_texts(patient, form, now, enrolling=True)
        db.session.flush()
        parts = ["consent"]
        caregiver = apply_caregiver(patient, form, now)
        if caregiver:
            parts.append(caregiver)
        parts.append("detailed texts" if patient.detailed_texts else "short texts")
        parts += apply_identity(patient, form)
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


#: The notice after the opt-in confirmation, by (how, outcome) (enrolment.send_opt_in).
OPT_IN_NOTICES = {
    ("text", "sent"): ("{done}. The confirmation text was sent.", "success"),
    ("call", "sent"): (
        "{done}. The patient chose calls, so the confirmation was placed as a call.",
        "success",
    ),
    ("text", "failed"): (
        (
            "{done}, but the confirmation text could not be sent. "
            "It is listed in the inbox as a failed delivery."
        ),
        "warning",
    ),
    ("call", "failed"): (
        "{done}, but the confirmation call could not be placed. It is in the inbox.",
        "warning",
    ),
}
OPTED_OUT_NOTICE = (
    "{done}. This number has texted STOP, so no confirmation was sent: "
    "the patient must text START to receive texts."
)


def send_confirmation(patient: Patient, done: str = "Enrolled") -> None:
    """Send the opt-in confirmation (enrolment.send_opt_in) and tell the coordinator how
    it went; ``done`` starts the notice: what was saved before it was tried."""
    sent = send_opt_in(patient)
    if sent.outcome == "opted_out":
        flash(OPTED_OUT_NOTICE.format(done=done), "warning")
        return
    notice, category = OPT_IN_NOTICES[sent.how, sent.outcome]
    flash(notice.format(done=done), category)


@dataclass
class Event:
    at: datetime
    kind: str  # text-in, text-out, call-in, call-out, alert, opt-out, opt-in, appointment, change
    title: str
    detail: str = ""
    status: str = ""
    anchor: str = ""  # the id an inbox item links to ("msg-12", "alert-3")


def timeline(patient: Patient) -> list[Event]:
    """Everything that happened with this patient, newest first."""
    events: list[Event] = []
    messages = db.session.scalars(
        db.select(Message)
        .where((Message.patient_id == patient.id) | (Message.phone == patient.phone))
        .order_by(Message.id.desc())
    ).all()
    senders = {
        c.id: c.name or c.email
        for c in db.session.scalars(
            db.select(Coordinator).where(
                Coordinator.id.in_({m.coordinator_id for m in messages if m.coordinator_id})
            )
        )
    }
    for m in messages:
        who = "" if m.phone == patient.phone else f" ({m.phone})"
        if m.channel == "voice":
            kind = "call-in" if m.direction == "in" else "call-out"
            title = ("Call from patient" if m.direction == "in" else "Call to patient") + who
        else:
            kind = "text-in" if m.direction == "in" else "text-out"
            title = ("Text from patient" if m.direction == "in" else "Text to patient") + who
            if m.direction == "out" and m.coordinator_id in senders:
                title += f" from {senders[m.coordinator_id]}"
            if m.direction == "out" and m.transport == "outbox":
                title += " (outbox)"
        events.append(Event(m.created_at, kind, title, m.body, _delivery(m), f"msg-{m.id}"))
    for a in db.session.scalars(db.select(Alert).filter_by(patient_id=patient.id)):
        state = f"done {a.resolved_at:%Y-%m-%d}" if a.resolved_at else "open"
        title = ALERT_LABELS.get(a.kind, a.kind)
        events.append(Event(a.created_at, "alert", title, a.detail, state, f"alert-{a.id}"))
    events += _patient_events(patient)
    cancelled = [a.id for a in patient.appointments if a.status == "cancelled"]
    audited = set(
        db.session.scalars(
            db.select(AuditEvent.entity_id).where(
                AuditEvent.entity == "appointment",
                AuditEvent.entity_id.in_(cancelled),
                AuditEvent.action == "cancel_appointment",
            )
        )
        if cancelled
        else ()
    )
    for appt in patient.appointments:
        # A cancellation made before changes were audited is known from its status alone.
        if appt.status == "cancelled" and appt.id not in audited:
            events.append(
                Event(
                    appt.updated_at,
                    "appointment",
                    f"Appointment cancelled: {KIND_LABELS.get(appt.kind, appt.kind)}",
                )
            )
    events += _notes_and_barriers(patient)
    for change, coordinator in db.session.execute(
        db.select(AuditEvent, Coordinator)
        .outerjoin(Coordinator, Coordinator.id == AuditEvent.coordinator_id)
        .where(
            (AuditEvent.patient_id == patient.id)
            | ((AuditEvent.entity == "patient") & (AuditEvent.entity_id == patient.id))
        )
        .where(AuditEvent.action.not_in(VIEW_ACTIONS))
        .where(AuditEvent.action.not_in(SHOWN_ON_THEIR_OWN))
    ):
        who = (coordinator.name or coordinator.email) if coordinator else "Command line"
        title = f"{who}: {action_words(change.action)}"
        events.append(Event(change.created_at, "change", title, change.detail))
    # A stable sort: rows read newest first stay so when two share a time.
    events.sort(key=lambda e: e.at, reverse=True)
    return events


#: Audit actions the timeline shows as events of their own (the note, the barrier).
SHOWN_ON_THEIR_OWN = ("add_note", "raise_barrier", "resolve_barrier")


def _notes_and_barriers(patient: Patient) -> list[Event]:
    """Coordinator notes (never sent to the patient), and each barrier raised and resolved."""
    events = []
    rows = db.session.execute(
        db.select(CoordinatorNote, Coordinator.name, Coordinator.email)
        .outerjoin(Coordinator, Coordinator.id == CoordinatorNote.coordinator_id)
        .where(CoordinatorNote.patient_id == patient.id)
    ).all()
    for note, name, email in rows:
        who = name or email or "a coordinator"
        events.append(Event(note.created_at, "note", f"Note by {who} (not sent)", note.body))
    for barrier in db.session.scalars(db.select(Barrier).filter_by(patient_id=patient.id)):
        label = BARRIER_LABELS[barrier.kind]
        events.append(
            Event(barrier.raised_at, "barrier", f"Barrier raised: {label}", barrier.detail or "")
        )
        if barrier.resolved_at:
            events.append(Event(barrier.resolved_at, "barrier", f"Barrier resolved: {label}"))
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
    record("view_patient", "patient", patient.id)  # looking is access to health data
    db.session.commit()
    return patient_page(patient)


def patient_page(patient: Patient, **forms):
    """The patient's page; ``forms`` (NoteForm=..., BarrierForm=...) carry a refused form
    back with its errors and what was typed."""
    workup = workup_for(patient)
    studies = study_views(workup)
    results = results_of(patient.id)
    contact = db.session.scalar(db.select(Contact).filter_by(phone=patient.phone))
    upcoming = [a for a in patient.appointments]
    return render_template(
        "coordinator/patient.html",
        patient=patient,
        contact=contact,
        alert_labels=ALERT_LABELS,
        workup=workup,
        step_labels=STEP_LABELS,
        studies=studies,
        warnings=order_warnings(studies),
        results=results,
        result_changes=changes(results["before"], results["now"]),
        barriers=barriers_of(patient.id),
        barrier_labels=BARRIER_LABELS,
        note_form=forms.get("NoteForm") or NoteForm(formdata=None),
        barrier_form=forms.get("BarrierForm") or BarrierForm(formdata=None),
        events=timeline(patient),
        appointments=upcoming,
        kind_labels=KIND_LABELS,
        phone_check=phone_check_state(patient, contact),
        open_alerts=db.session.scalar(
            db.select(db.func.count(Alert.id)).where(
                Alert.patient_id == patient.id, Alert.resolved_at.is_(None)
            )
        ),
    )
