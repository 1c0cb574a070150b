"""Coordinator notes and barriers to care, both on the patient's page and timeline.

Notes are written for the care team and are never sent: no code that texts or calls a
patient reads them (unlike an appointment's preparation notes, which are texted).
Barriers come from a fixed list so they can be counted; each keeps when it was raised and
resolved, and by whom.
"""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_login import current_user

from ..audit.records import record
from ..extensions import db
from ..models import Patient, utcnow
from ..patients.workups import BARRIER_LABELS, Barrier, CoordinatorNote
from .blueprint import bp
from .forms import ConfirmForm
from .patient_pages import patient_page
from .workup_forms import BarrierForm, NoteForm


def _back(patient_id: int, anchor: str):
    return redirect(url_for("coordinator.patient", patient_id=patient_id) + anchor)


def _refused(patient: Patient, form):
    """The patient page again, with the form's errors, and nothing saved."""
    return patient_page(patient, **{type(form).__name__: form}), 422


@bp.post("/patients/<int:patient_id>/notes")
def add_note(patient_id: int):
    """Add a note to the timeline. The audit row names the note, not its words."""
    patient = db.get_or_404(Patient, patient_id)
    form = NoteForm()
    if not form.validate_on_submit():
        return _refused(patient, form)
    note = CoordinatorNote(
        patient_id=patient.id, coordinator_id=current_user.id, body=form.body.data.strip()
    )
    db.session.add(note)
    db.session.flush()
    record("add_note", "patient", patient.id, f"note #{note.id}")
    db.session.commit()
    flash("Note added. It is for the care team and is never sent to the patient.", "success")
    return _back(patient.id, "#timeline")


@bp.post("/patients/<int:patient_id>/barriers")
def raise_barrier(patient_id: int):
    patient = db.get_or_404(Patient, patient_id)
    form = BarrierForm()
    if not form.validate_on_submit():
        return _refused(patient, form)
    barrier = Barrier(
        patient_id=patient.id,
        kind=form.kind.data,
        detail=(form.detail.data or "").strip() or None,
        raised_by_id=current_user.id,
        raised_at=utcnow(),
    )
    db.session.add(barrier)
    db.session.flush()
    record(
        "raise_barrier", "patient", patient.id, f"{BARRIER_LABELS[barrier.kind]} (#{barrier.id})"
    )
    db.session.commit()
    flash(f"Barrier recorded: {BARRIER_LABELS[barrier.kind]}.", "success")
    return _back(patient.id, "#barriers")


@bp.post("/barriers/<int:barrier_id>/resolve")
def resolve_barrier(barrier_id: int):
    """Mark a barrier resolved; resolving one twice changes nothing."""
    barrier = db.get_or_404(Barrier, barrier_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if barrier.resolved_at is None:
        barrier.resolved_at, barrier.resolved_by_id = utcnow(), current_user.id
        record(
            "resolve_barrier",
            "patient",
            barrier.patient_id,
            f"{BARRIER_LABELS[barrier.kind]} (#{barrier.id})",
        )
        db.session.commit()
        flash(f"Barrier resolved: {BARRIER_LABELS[barrier.kind]}.", "success")
    else:
        flash("That barrier was already resolved. Nothing changed.", "info")
    return _back(barrier.patient_id, "#barriers")
