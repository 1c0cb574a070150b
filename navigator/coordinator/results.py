"""Receptor results: ER, PR and HER2 of the first cancer and of the recurrence, the biopsy
site and whether tissue was obtained, and any change between the two said plainly.

Results are for the care team's eyes: nothing here sends anything, and the navigator's
texts and calls never read these rows (a biopsy result is the doctor's to give).
"""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..audit.records import record
from ..extensions import db
from ..models import Patient
from ..patients.workups import RESULT_TIMINGS, ReceptorResult
from .blueprint import bp
from .workup_forms import HER2_LABELS, RECEPTOR_LABELS, ResultsForm

MARKERS = ("er", "pr", "her2")
MARKER_NAMES = {"er": "ER", "pr": "PR", "her2": "HER2"}


def value_label(marker: str, value: str | None) -> str:
    labels = HER2_LABELS if marker == "her2" else RECEPTOR_LABELS
    return labels.get(value or "", "not known").lower() if value else "not known"


def results_of(patient_id: int) -> dict[str, ReceptorResult | None]:
    rows = db.session.scalars(db.select(ReceptorResult).filter_by(patient_id=patient_id))
    found = {row.timing: row for row in rows}
    return {timing: found.get(timing) for timing in RESULT_TIMINGS}


def changes(before: ReceptorResult | None, now: ReceptorResult | None) -> list[str]:
    """One plain sentence per marker known both times whose result changed."""
    if before is None or now is None:
        return []
    said = []
    for marker in MARKERS:
        old, new = getattr(before, marker), getattr(now, marker)
        if old and new and old != new:
            said.append(
                f"{MARKER_NAMES[marker]} changed: {value_label(marker, old)} before, "
                f"{value_label(marker, new)} now."
            )
    return said


@bp.route("/patients/<int:patient_id>/results", methods=["GET", "POST"])
def results(patient_id: int):
    """Record or correct the receptor results, before and now."""
    patient = db.get_or_404(Patient, patient_id)
    saved = results_of(patient.id)
    form = ResultsForm()
    if request.method == "GET":
        _fill(form, saved)
    if form.validate_on_submit():
        changed = _save(form, patient.id, saved)
        if changed:
            record(
                "update_results", "patient", patient.id, "receptor results: " + ", ".join(changed)
            )
        db.session.commit()
        flash("Results saved. They are for the care team only and are never texted.", "success")
        return redirect(url_for("coordinator.patient", patient_id=patient.id) + "#results")
    status = 422 if request.method == "POST" else 200
    return render_template("coordinator/results.html", patient=patient, form=form), status


def _fill(form: ResultsForm, saved) -> None:
    for timing, row in saved.items():
        if row is None:
            continue
        for marker in MARKERS:
            getattr(form, f"{timing}_{marker}").data = getattr(row, marker) or ""
        getattr(form, f"{timing}_tested_on").data = (
            row.tested_on.isoformat() if row.tested_on else ""
        )
    now = saved["now"]
    if now is not None:
        form.biopsy_site.data = now.biopsy_site or ""
        form.tissue_obtained.data = {True: "yes", False: "no"}.get(now.tissue_obtained, "")


def _save(form: ResultsForm, patient_id: int, saved) -> list[str]:
    """Write both rows; returns which (before, now) changed. Audit names fields only."""
    changed = []
    for timing in RESULT_TIMINGS:
        text = getattr(form, f"{timing}_tested_on").data
        values = {m: getattr(form, f"{timing}_{m}").data or None for m in MARKERS}
        values["tested_on"] = date.fromisoformat(text) if text else None
        if timing == "now":
            values["biopsy_site"] = (form.biopsy_site.data or "").strip() or None
            values["tissue_obtained"] = {"yes": True, "no": False}.get(form.tissue_obtained.data)
        row = saved[timing]
        if row is None:
            if not any(v is not None for v in values.values()):
                continue
            row = ReceptorResult(patient_id=patient_id, timing=timing)
            db.session.add(row)
        fields = [k for k, v in values.items() if getattr(row, k) != v]
        if fields:
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_by_id = current_user.id
            changed.append(f"{timing} ({', '.join(fields)})")
    return changed
