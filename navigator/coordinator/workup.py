"""The workup tracker: each stage's status and date, and warnings when dates are out of order.

The expected order is imaging, biopsy, receptor and genomic results, then the
treatment-planning visit. A stage without a date of its own takes the date of its
earliest appointment that is not cancelled (imaging kinds, biopsy, visit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..extensions import db
from ..models import WORKUP_STAGES, Patient, WorkupStage
from . import bp
from .audit import record
from .forms import STAGE_LABELS, WorkupForm

STAGE_KINDS = {
    "imaging": ("ct", "pet-ct", "bone-scan", "mri"),
    "biopsy": ("biopsy",),
    "results": (),
    "planning": ("visit",),
}


@dataclass
class StageView:
    stage: str
    label: str
    status: str
    on_date: date | None
    from_appointment: bool
    note: str


def stage_views(patient: Patient) -> list[StageView]:
    """Every stage in order, with the date the tracker uses for it."""
    saved = {
        s.stage: s
        for s in db.session.scalars(db.select(WorkupStage).filter_by(patient_id=patient.id))
    }
    views = []
    for stage in WORKUP_STAGES:
        row = saved.get(stage)
        on_date, derived = (row.on_date if row else None), False
        if on_date is None:
            on_date = _appointment_date(patient, STAGE_KINDS[stage])
            derived = on_date is not None
        # A stage nobody has updated but with an appointment booked is, in fact, scheduled.
        status = row.status if row else ("scheduled" if derived else "not_started")
        views.append(
            StageView(
                stage,
                STAGE_LABELS[stage],
                status,
                on_date,
                derived,
                (row.note or "") if row else "",
            )
        )
    return views


def _appointment_date(patient: Patient, kinds: tuple[str, ...]) -> date | None:
    days = [
        a.starts_at.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(a.timezone)).date()
        for a in patient.appointments
        if a.kind in kinds and a.status != "cancelled"
    ]
    return min(days) if days else None


def order_warnings(stages: list[StageView]) -> list[str]:
    """Sentences naming each pair of stages whose dates break the expected order."""
    dated = [s for s in stages if s.on_date and s.status != "not_needed"]
    warnings = []
    for i, earlier in enumerate(dated):
        for later in dated[i + 1 :]:
            if later.on_date < earlier.on_date:
                warnings.append(
                    f"{earlier.label} ({earlier.on_date:%d %b %Y}) is dated after "
                    f"{later.label.lower()} ({later.on_date:%d %b %Y}); "
                    f"{earlier.label.lower()} usually comes first."
                )
    return warnings


@bp.route("/patients/<int:patient_id>/workup", methods=["GET", "POST"])
def workup(patient_id: int):
    """Edit the workup stages of one patient."""
    patient = db.get_or_404(Patient, patient_id)
    views = stage_views(patient)
    form = WorkupForm()
    if request.method == "GET":
        for view in views:
            getattr(form, f"{view.stage}_status").data = view.status
            own = not view.from_appointment and view.on_date
            getattr(form, f"{view.stage}_date").data = view.on_date.isoformat() if own else ""
            getattr(form, f"{view.stage}_note").data = view.note
    status = 200
    if form.validate_on_submit():
        saved = {
            s.stage: s
            for s in db.session.scalars(db.select(WorkupStage).filter_by(patient_id=patient.id))
        }
        changed = []
        for stage in WORKUP_STAGES:
            row = saved.get(stage) or WorkupStage(patient_id=patient.id, stage=stage)
            text = getattr(form, f"{stage}_date").data
            values = {
                "status": getattr(form, f"{stage}_status").data,
                "on_date": date.fromisoformat(text) if text else None,
                "note": (getattr(form, f"{stage}_note").data or "").strip() or None,
            }
            if row.id is None or any(getattr(row, k) != v for k, v in values.items()):
                for key, value in values.items():
                    setattr(row, key, value)
                row.updated_by_id = current_user.id
                db.session.add(row)
                changed.append(stage)
        if changed:
            record("update_workup", "patient", patient.id, "stages: " + ", ".join(changed))
        db.session.commit()
        flash("Workup saved.", "success")
        return redirect(url_for("coordinator.patient", patient_id=patient.id) + "#workup")
    if request.method == "POST":
        status = 422
    return render_template(
        "coordinator/workup.html",
        patient=patient,
        form=form,
        stages=WORKUP_STAGES,
        labels=STAGE_LABELS,
    ), status
