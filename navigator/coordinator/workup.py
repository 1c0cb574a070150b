"""The workup page: the suspected-recurrence date, who is in charge, and one row per study
with its status, dates, appointment and history; warnings when dates are out of order.

Every change is audited under the study and under the patient (whose timeline shows it),
and the workup's summary (``workup_path.refresh``) is rewritten in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..audit.records import record
from ..extensions import db
from ..models import KIND_LABELS, Appointment, AuditEvent, Coordinator, Patient, utcnow
from ..patients.workup_path import STEP_LABELS, STEP_OF, STEPS, refresh, site_day
from ..patients.workups import (
    APPOINTMENT_KIND_OF,
    STATUS_LABELS,
    STUDY_KINDS,
    STUDY_LABELS,
    Study,
    Workup,
    start_workup,
    workup_of,
)
from .blueprint import bp
from .forms import ConfirmForm
from .workup_forms import DATE_LABELS, AddStudyForm, CloseWorkupForm, StudyForm, WorkupDetailsForm


@dataclass
class StudyView:
    study: Study
    label: str
    status: str
    on_date: date | None
    from_appointment: bool

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def workup_for(patient: Patient) -> Workup:
    """The patient's workup, started now if they were enrolled before workups existed."""
    workup = workup_of(patient.id)
    if workup is None:
        workup = start_workup(patient.id)
        refresh(workup)
        db.session.commit()
    return workup


def study_views(workup: Workup) -> list[StudyView]:
    """Every study in path order, with the day it happened or is booked for."""
    appointments = {
        a.id: a
        for a in db.session.scalars(db.select(Appointment).filter_by(patient_id=workup.patient_id))
    }
    views = []
    for study in sorted(
        workup.studies, key=lambda s: (STEPS.index(STEP_OF[s.kind]), s.position, s.id)
    ):
        linked = appointments.get(study.appointment_id)
        on_date = study.done_on or study.result_on or study.reviewed_on or study.scheduled_on
        derived = False
        if on_date is None and linked is not None and linked.status != "cancelled":
            on_date, derived = site_day(linked), True
        views.append(StudyView(study, STUDY_LABELS[study.kind], study.status, on_date, derived))
    return views


def order_warnings(studies: list[StudyView]) -> list[str]:
    """Sentences naming each pair of studies, from different steps of the path, whose dates
    break the usual order (a biopsy dated after the planning visit)."""
    dated = [s for s in studies if s.on_date and s.status not in ("not_needed", "to_order")]
    dated.sort(key=lambda s: STEPS.index(STEP_OF[s.study.kind]))
    warnings = []
    for i, earlier in enumerate(dated):
        for later in dated[i + 1 :]:
            if STEP_OF[later.study.kind] == STEP_OF[earlier.study.kind]:
                continue
            if later.on_date < earlier.on_date:
                warnings.append(
                    f"{earlier.label} ({earlier.on_date:%d %b %Y}) is dated after "
                    f"{later.label.lower()} ({later.on_date:%d %b %Y}); "
                    f"{earlier.label.lower()} usually comes first."
                )
    return warnings


def _owners() -> list[tuple[str, str]]:
    people = db.session.scalars(
        db.select(Coordinator).filter_by(active=True).order_by(Coordinator.name, Coordinator.email)
    )
    return [("", "Nobody yet")] + [(str(c.id), c.name or c.email) for c in people]


@bp.route("/patients/<int:patient_id>/workup", methods=["GET", "POST"])
def workup(patient_id: int):
    """The workup of one patient; a POST saves the suspected-recurrence date and owner."""
    patient = db.get_or_404(Patient, patient_id)
    workup = workup_for(patient)
    form = WorkupDetailsForm()
    form.owner_id.choices = _owners()
    if request.method == "GET":
        form.suspected_on.data = workup.suspected_on.isoformat() if workup.suspected_on else ""
        form.owner_id.data = str(workup.owner_id or "")
    status = 200
    if form.validate_on_submit():
        text = form.suspected_on.data
        suspected = date.fromisoformat(text) if text else None
        owner = int(form.owner_id.data) if (form.owner_id.data or "").isdigit() else None
        changed = [
            name
            for name, old, new in (
                ("suspected recurrence date", workup.suspected_on, suspected),
                ("coordinator in charge", workup.owner_id, owner),
            )
            if old != new
        ]
        if changed:
            workup.suspected_on, workup.owner_id = suspected, owner
            refresh(workup)
            record("update_workup", "patient", patient.id, ", ".join(changed))
            db.session.commit()
        flash("Workup saved.", "success")
        return redirect(url_for("coordinator.workup", patient_id=patient.id))
    if request.method == "POST":
        status = 422
    views = study_views(workup)
    return render_template(
        "coordinator/workup.html",
        patient=patient,
        workup=workup,
        form=form,
        add_form=AddStudyForm(formdata=None),
        close_form=CloseWorkupForm(formdata=None),
        studies=views,
        warnings=order_warnings(views),
        step_labels=STEP_LABELS,
        history=_history(workup),
    ), status


@bp.post("/patients/<int:patient_id>/workup/close")
def close_workup(patient_id: int):
    """End the workup (recurrence ruled out, care elsewhere...): off the worklist."""
    patient = db.get_or_404(Patient, patient_id)
    workup = workup_for(patient)
    form = CloseWorkupForm()
    if not form.validate_on_submit():
        abort(400)
    if workup.closed_at is None:
        workup.closed_at, workup.closed_reason = utcnow(), form.reason.data
        record("close_workup", "patient", patient.id, form.reason.data)
        db.session.commit()
        flash(f"Workup closed: {form.reason.data}. It is off the worklist.", "success")
    return redirect(url_for("coordinator.workup", patient_id=patient.id))


@bp.post("/patients/<int:patient_id>/workup/reopen")
def reopen_workup(patient_id: int):
    patient = db.get_or_404(Patient, patient_id)
    workup = workup_for(patient)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if workup.closed_at is not None:
        workup.closed_at, workup.closed_reason = None, None
        record("reopen_workup", "patient", patient.id)
        db.session.commit()
        flash("Workup reopened. It is back on the worklist.", "success")
    return redirect(url_for("coordinator.workup", patient_id=patient.id))


def _history(workup: Workup) -> dict[int, list[AuditEvent]]:
    """Each study's audit rows, newest first."""
    ids = [s.id for s in workup.studies]
    rows = db.session.scalars(
        db.select(AuditEvent)
        .where(AuditEvent.entity == "study", AuditEvent.entity_id.in_(ids))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    )
    history: dict[int, list[AuditEvent]] = {}
    for row in rows:
        history.setdefault(row.entity_id, []).append(row)
    return history


@bp.post("/patients/<int:patient_id>/workup/studies")
def add_study(patient_id: int):
    """Add another study of a kind (a second biopsy, a repeat scan)."""
    patient = db.get_or_404(Patient, patient_id)
    workup = workup_for(patient)
    form = AddStudyForm()
    if not form.validate_on_submit():
        abort(400)
    study = Study(
        workup_id=workup.id,
        kind=form.kind.data,
        position=STUDY_KINDS.index(form.kind.data),
        status="to_order",
        updated_by_id=current_user.id,
    )
    db.session.add(study)
    db.session.flush()
    refresh(workup)
    _audit(study, "add_study", f"{STUDY_LABELS[study.kind]}, to be ordered")
    db.session.commit()
    flash(f"{STUDY_LABELS[study.kind]} added.", "success")
    return redirect(url_for("coordinator.edit_study", study_id=study.id))


def _audit(study: Study, action: str, what: str) -> None:
    """Filed under the study (its history) and the patient (their timeline)."""
    patient_id = study.workup.patient_id
    record(action, "study", study.id, f"patient #{patient_id}; {what}")
    record(action, "patient", patient_id, f"{STUDY_LABELS[study.kind]}: {what}")


def _appointment_choices(study: Study) -> list[tuple[str, str]]:
    kind = APPOINTMENT_KIND_OF.get(study.kind)
    if kind is None:
        return [("", "None (no appointment for this study)")]
    booked = db.session.scalars(
        db.select(Appointment)
        .filter_by(patient_id=study.workup.patient_id, kind=kind)
        .where(Appointment.status != "cancelled")
        .order_by(Appointment.starts_at)
    )
    return [("", "None")] + [
        (str(a.id), f"{KIND_LABELS.get(a.kind, a.kind)}, {site_day(a):%d %b %Y}, {a.location}")
        for a in booked
    ]


@bp.route("/studies/<int:study_id>", methods=["GET", "POST"])
def edit_study(study_id: int):
    """Change one study's status, dates, appointment or detail."""
    study = db.get_or_404(Study, study_id)
    patient = db.session.get(Patient, study.workup.patient_id)
    form = StudyForm()
    form.appointment_id.choices = _appointment_choices(study)
    if request.method == "GET":
        form.status.data = study.status
        for name in DATE_LABELS:
            value = getattr(study, name)
            getattr(form, name).data = value.isoformat() if value else ""
        form.appointment_id.data = str(study.appointment_id or "")
        form.detail.data = study.detail or ""
    if form.validate_on_submit():
        allowed = {value for value, _ in form.appointment_id.choices}
        if (form.appointment_id.data or "") not in allowed:
            form.appointment_id.errors.append("Choose one of this patient's appointments.")
        else:
            _save_study(study, form)
            flash(f"{STUDY_LABELS[study.kind]} saved.", "success")
            return redirect(url_for("coordinator.workup", patient_id=patient.id))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "coordinator/study.html",
        patient=patient,
        study=study,
        label=STUDY_LABELS[study.kind],
        form=form,
        book_kind=APPOINTMENT_KIND_OF.get(study.kind),
    ), status


def _save_study(study: Study, form: StudyForm) -> None:
    values = {
        "status": form.status.data,
        "appointment_id": int(form.appointment_id.data) if form.appointment_id.data else None,
        "detail": (form.detail.data or "").strip() or None,
        **form.dates(),
    }
    changed = [k for k, v in values.items() if getattr(study, k) != v]
    if not changed:
        return
    what = []
    if "status" in changed:
        what.append(f"{STATUS_LABELS[study.status]} to {STATUS_LABELS[values['status']]}")
    what += [
        DATE_LABELS.get(k, k.replace("_id", "").replace("_", " ")).lower()
        for k in changed
        if k != "status"
    ]
    for key, value in values.items():
        setattr(study, key, value)
    study.updated_by_id = current_user.id
    refresh(study.workup)
    _audit(study, "update_study", ", ".join(what))
    db.session.commit()
