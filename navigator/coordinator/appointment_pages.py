"""Appointments per patient: add, edit, move, cancel and reinstate, each with a confirm step.

A move, a cancellation or a reinstatement can tell the patient by text (change_notices.py);
the timeline keeps the old and the new time, and a cancellation's reason.

Before anything is saved the coordinator sees the reminders that will go out and when,
in the patient's zone. The preview runs the real ``appointments``/``reminders`` code
and then rolls the session back, so what is shown is what saving will do.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from .. import timefmt
from ..audit.records import appointment_words, record_appointment
from ..extensions import db
from ..models import KIND_LABELS, Appointment, Patient, Reminder, utcnow
from ..patients import change_notices
from ..patients.appointments import AppointmentError, cancel, move, schedule
from ..reminders import planning
from .appointment_forms import CancelForm
from .blueprint import bp
from .forms import AppointmentForm, ConfirmForm

ROLE_LABELS = {
    "patient": "Patient",
    "prep": "Patient (how to get ready)",
    "caregiver": "Caregiver (copy)",
}


@dataclass
class PlannedView:
    when_patient: str
    offset: str
    recipient: str
    channel: str


def _plan_views(appointment: Appointment, patient: Patient) -> list[PlannedView]:
    """The appointment's pending reminder rows (as flushed by the appointments module)."""
    rows = db.session.scalars(
        db.select(Reminder)
        .where(Reminder.appointment_id == appointment.id, Reminder.status == "pending")
        .order_by(Reminder.due_at, Reminder.id)
    ).all()
    return [
        PlannedView(
            timefmt.local(row.due_at, patient.timezone).strftime("%a %d %b %Y, %H:%M %Z"),
            row.offset,
            ROLE_LABELS.get(row.role, row.role),
            "Call" if row.channel == "voice" else "Text",
        )
        for row in rows
    ]


def site_zone(patient: Patient) -> str:
    """The zone a new appointment's site is likely in: that of the patient's latest
    appointment, else the clinic's (``SITE_TIMEZONE``). Never the patient's own zone:
    a patient who lives elsewhere still comes to the clinic's sites."""
    latest = db.session.scalar(
        db.select(Appointment.timezone)
        .where(Appointment.patient_id == patient.id)
        .order_by(Appointment.created_at.desc(), Appointment.id.desc())
        .limit(1)
    )
    return latest or current_app.config["SITE_TIMEZONE"]


def _apply(form: AppointmentForm, patient: Patient, appointment: Appointment | None, now):
    """Make the change in the session (not committed); return the appointment and what changed.

    :raise AppointmentError: the appointments module refuses the change.
    """
    starts = form.starts_at_local()
    prep = (form.prep_notes.data or "").strip() or None
    if appointment is None:
        made = schedule(
            patient,
            form.kind.data,
            starts,
            form.timezone.data,
            form.location.data.strip(),
            prep_notes=prep,
            now=now,
            repeated=form.repeated.data or None,
        )
        return made, ["created"]
    changed = []
    current = timefmt.local_wall(appointment.starts_at, appointment.timezone)
    if current != starts or appointment.timezone != form.timezone.data:
        before = appointment_words(appointment, with_place=False)
        move(
            appointment,
            starts,
            timezone=form.timezone.data,
            now=now,
            repeated=form.repeated.data or None,
        )
        changed.append(f"moved from {before} to {appointment_words(appointment, with_place=False)}")
    for name, value in (
        ("kind", form.kind.data),
        ("location", form.location.data.strip()),
        ("prep_notes", prep),
    ):
        if getattr(appointment, name) != value:
            setattr(appointment, name, value)
            changed.append(name)
    return appointment, changed


def _edit(patient: Patient, appointment: Appointment | None):

    form = AppointmentForm()
    if request.method == "GET" and appointment is not None:
        local = timefmt.local(appointment.starts_at, appointment.timezone)
        form.kind.data = appointment.kind
        form.day.data = local.date().isoformat()
        form.at.data = local.strftime("%H:%M")
        form.timezone.data = appointment.timezone
        form.location.data = appointment.location
        form.prep_notes.data = appointment.prep_notes or ""
    elif request.method == "GET":
        form.timezone.data = site_zone(patient)
        # "Book an appointment for this study" on the workup page names the kind.
        if request.args.get("kind") in {choice.value for choice in form.kind.choices}:
            form.kind.data = request.args["kind"]
    step = request.form.get("step", "preview")
    if request.method == "POST" and step != "edit" and form.validate_on_submit():
        now = utcnow()
        try:
            saved, changed = _apply(form, patient, appointment, now)
            db.session.flush()
            planned = _plan_views(saved, patient)
        except AppointmentError as exc:
            db.session.rollback()
            field = getattr(
                form, {"id": "day", "starts_at": "day"}.get(exc.field, exc.field), form.day
            )
            field.errors.append(str(exc)[:1].upper() + str(exc)[1:])
        else:
            if step == "save":
                told = ""
                if changed:
                    action = "create" if appointment is None else "update"
                    record_appointment(f"{action}_appointment", saved, ", ".join(changed))
                    if _moved(changed) and appointment is not None and _tell(request.form):
                        told = " " + TOLD[change_notices.notify(saved, "moved", now)]
                db.session.commit()
                flash(
                    ("Appointment saved. Its reminders are planned." + told)
                    if changed
                    else "Nothing changed.",
                    "success",
                )
                return redirect(
                    url_for("coordinator.patient", patient_id=patient.id) + "#appointments"
                )
            db.session.rollback()
            return render_template(
                "coordinator/appointment_preview.html",
                form=form,
                patient=patient,
                appointment=appointment,
                planned=planned,
                kind_label=KIND_LABELS.get(form.kind.data, form.kind.data),
                changed=changed,
                moved=appointment is not None and _moved(changed),
            )
    status = 422 if request.method == "POST" and step != "edit" else 200
    return render_template(
        "coordinator/appointment_form.html", form=form, patient=patient, appointment=appointment
    ), status


@bp.route("/patients/<int:patient_id>/appointments/new", methods=["GET", "POST"])
def new_appointment(patient_id: int):
    """Add an appointment: fill in, preview the reminders, then save."""
    return _edit(db.get_or_404(Patient, patient_id), None)


@bp.route("/appointments/<int:appointment_id>/edit", methods=["GET", "POST"])
def edit_appointment(appointment_id: int):
    """Edit or move an appointment: change, preview the new reminders, then save."""
    appointment = db.get_or_404(Appointment, appointment_id)
    return _edit(appointment.patient, appointment)


@bp.route("/appointments/<int:appointment_id>/cancel", methods=["GET", "POST"])
def cancel_appointment(appointment_id: int):
    """Cancel an appointment after showing the reminders that will be stopped."""
    query = db.select(Appointment).where(Appointment.id == appointment_id)
    if request.method == "POST":
        # Two cancels at once: the second waits for the first, then sees it.
        query = query.with_for_update().execution_options(populate_existing=True)
    appointment = db.first_or_404(query)
    back = url_for("coordinator.patient", patient_id=appointment.patient_id) + "#appointments"
    if appointment.status == "cancelled":
        flash("This appointment was already cancelled. Nothing changed.", "info")
        return redirect(back)
    form = CancelForm()
    if form.validate_on_submit():
        now = utcnow()
        cancel(appointment, now=now)
        reason = (form.reason.data or "").strip()
        record_appointment("cancel_appointment", appointment, f"reason: {reason}" if reason else "")
        told = TOLD[change_notices.notify(appointment, "cancelled", now)] if form.tell.data else ""
        db.session.commit()
        flash(f"Appointment cancelled. Its pending reminders will not go out. {told}", "success")
        return redirect(back)
    pending = db.session.scalars(
        db.select(Reminder)
        .where(Reminder.appointment_id == appointment.id, Reminder.status == "pending")
        .order_by(Reminder.due_at)
    ).all()
    status = 422 if request.method == "POST" else 200
    return render_template(
        "coordinator/appointment_cancel.html",
        form=form,
        appointment=appointment,
        patient=appointment.patient,
        pending=pending,
        kind_label=KIND_LABELS.get(appointment.kind, appointment.kind),
    ), status


@bp.post("/appointments/<int:appointment_id>/reinstate")
def reinstate_appointment(appointment_id: int):
    """Undo a cancellation: the appointment is scheduled again, its reminders planned again,
    and the patient told (by the same rules as any change).

    :raise 400: without a valid CSRF token.
    """
    if not ConfirmForm().validate_on_submit():
        abort(400)
    appointment = db.first_or_404(
        db.select(Appointment)
        .where(Appointment.id == appointment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    back = url_for("coordinator.patient", patient_id=appointment.patient_id) + "#appointments"
    now = utcnow()
    if appointment.status != "cancelled":
        flash("This appointment is not cancelled. Nothing changed.", "info")
        return redirect(back)
    if appointment.starts_at <= now:
        flash("This appointment's time has passed: add a new one instead.", "warning")
        return redirect(back)
    appointment.status = "scheduled"
    db.session.flush()
    planning.replace_pending(appointment, now)
    record_appointment("reinstate_appointment", appointment)
    told = TOLD[change_notices.notify(appointment, "reinstated", now)]
    db.session.commit()
    flash(f"Appointment is back on. Its reminders are planned again. {told}", "success")
    return redirect(back)


#: What the coordinator is told after a change notice was tried (change_notices.notify).
TOLD = {
    "sent": "The patient was sent a text about it.",
    "opted out": "The patient opted out of texts, so they were not told: call them.",
    "left to a person": "The patient could not be texted now: it is in the inbox to tell them.",
}


def _moved(changed: list[str]) -> bool:
    return any(change.startswith("moved") for change in changed)


def _tell(form) -> bool:
    return form.get("tell_patient") == "y"
