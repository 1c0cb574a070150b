"""The worklist: one row per patient in an active workup, so a coordinator sees who is
stuck without opening every chart.

Each row: the current step, the next appointment, days since a recurrence was suspected,
days in the step, open inbox items, open barriers, and an overdue flag from the rules in
``workup_path.OVERDUE_RULES``. Sorting and filtering run on the workup's summary columns
(indexed); the per-row extras are read for the fifty rows of the page only, so the page
costs the same with two hundred patients or twenty thousand.
"""

from __future__ import annotations

from datetime import date

from flask import current_app, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import case, func, nulls_last

from .. import timefmt
from ..extensions import db
from ..models import Alert, Appointment, Patient, utcnow
from ..patients.workup_path import RULES, STEP_LABELS, STEPS, overdue_condition, rule_days
from ..patients.workups import BARRIER_LABELS, Barrier, Workup
from .blueprint import bp

PAGE_SIZE = 50
#: Sortable columns. Not the next appointment: ordering by it needs every patient's
#: appointments, which grows with the program (it is shown, and ``step`` narrows).
SORTS = ("overdue", "patient", "step", "suspected", "in_step")
SORT_LABELS = {
    "patient": "Patient",
    "step": "Step",
    "suspected": "Days since suspected",
    "in_step": "Days in step",
    "overdue": "Overdue",
}


def site_today() -> date:
    """Today where the clinic is: days are counted in the clinic's calendar."""
    return timefmt.now_in(current_app.config["SITE_TIMEZONE"]).date()


def _filters(args, overdue) -> tuple[list, bool]:
    """The WHERE conditions, and whether they need the patients table (language)."""
    conditions = [Workup.closed_at.is_(None), Workup.step != "complete"]
    if args.get("mine"):
        conditions.append(Workup.owner_id == current_user.id)
    if args.get("overdue"):
        conditions.append(overdue)
    if args.get("step") in STEPS:
        conditions.append(Workup.step == args["step"])
    if args.get("language") in ("en", "es"):
        conditions.append(Patient.language == args["language"])
        return conditions, True
    return conditions, False


def _order(sort: str, descending: bool, overdue):
    """ORDER BY for a sort key; the default puts overdue rows first, longest in step."""
    step_rank = case({s: i for i, s in enumerate(STEPS)}, value=Workup.step, else_=len(STEPS))
    columns = {
        "patient": Patient.name,
        "step": step_rank,
        "suspected": Workup.suspected_on,
        "in_step": Workup.step_since,
        "overdue": case((overdue, 1), else_=0),
    }
    # More days since a date means an older date: those two sort the other way round.
    backwards = descending != (sort in ("suspected", "in_step"))
    ordered = columns[sort].desc() if backwards else columns[sort].asc()
    return [nulls_last(ordered), Workup.step_since, Workup.id]


def worklist_rows(args):
    """The page of rows the arguments ask for, and what the page needs to draw them.

    The page's fifty workup ids are chosen from the workups table alone (the patients
    table is joined only to filter by language or sort by name), then their rows, names
    and extras are read for those fifty only.
    """
    today, now = site_today(), utcnow()
    days = rule_days(current_app.config)
    overdue = overdue_condition(today, days)
    sort = args.get("sort") if args.get("sort") in SORTS else "overdue"
    descending = args.get("dir", "desc" if sort == "overdue" else "asc") == "desc"
    conditions, by_language = _filters(args, overdue)
    chosen = db.select(Workup.id).where(*conditions)
    if by_language:
        chosen = chosen.join(Patient, Patient.id == Workup.patient_id)
    total = db.session.scalar(db.select(func.count()).select_from(chosen.subquery()))
    if sort == "patient" and not by_language:
        chosen = chosen.join(Patient, Patient.id == Workup.patient_id)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(args.get("page", 1, type=int) or 1, 1), pages)
    ids = db.session.scalars(
        chosen.order_by(*_order(sort, descending, overdue))
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    found = {
        row[0].id: row
        for row in db.session.execute(
            db.select(Workup, Patient.name, Patient.language, case((overdue, True), else_=False))
            .join(Patient, Patient.id == Workup.patient_id)
            .where(Workup.id.in_(ids))
        )
    }
    rows = [found[i] for i in ids]
    patient_ids = [row[0].patient_id for row in rows]
    return {
        "rows": rows,
        "next": _next_by_patient(patient_ids, now),
        "alerts": _open_alerts(patient_ids),
        "barriers": _open_barriers(patient_ids),
        "today": today,
        "days": days,
        "sort": sort,
        "descending": descending,
        "page": page,
        "pages": pages,
        "total": total,
    }


def _next_by_patient(patient_ids, now) -> dict[int, Appointment]:
    first = (
        db.select(Appointment.patient_id, func.min(Appointment.starts_at).label("at"))
        .where(
            Appointment.patient_id.in_(patient_ids),
            Appointment.starts_at >= now,
            Appointment.status != "cancelled",
        )
        .group_by(Appointment.patient_id)
        .subquery()
    )
    found = db.session.scalars(
        db.select(Appointment)
        .join(
            first,
            (first.c.patient_id == Appointment.patient_id) & (first.c.at == Appointment.starts_at),
        )
        .where(Appointment.status != "cancelled")
    )
    return {a.patient_id: a for a in found}


def _open_alerts(patient_ids) -> dict[int, int]:
    return dict(
        db.session.execute(
            db.select(Alert.patient_id, func.count(Alert.id))
            .where(Alert.patient_id.in_(patient_ids), Alert.resolved_at.is_(None))
            .group_by(Alert.patient_id)
        ).all()
    )


def _open_barriers(patient_ids) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for patient_id, kind in db.session.execute(
        db.select(Barrier.patient_id, Barrier.kind)
        .where(Barrier.patient_id.in_(patient_ids), Barrier.resolved_at.is_(None))
        .order_by(Barrier.raised_at)
    ):
        found.setdefault(patient_id, []).append(BARRIER_LABELS[kind])
    return found


@bp.get("/worklist")
def worklist():
    """Who is in a workup, where they are, and who is overdue. Filters and sorting are in
    the address (no patient data in it), so a view can be bookmarked."""
    data = worklist_rows(request.args)
    kept = {k: v for k, v in request.args.items() if k in ("mine", "overdue", "language", "step")}

    def link(**changes):
        return url_for("coordinator.worklist", **{**kept, **changes})

    return render_template(
        "coordinator/worklist.html",
        **data,
        kept=kept,
        link=link,
        sort_labels=SORT_LABELS,
        step_labels=STEP_LABELS,
        steps=STEPS,
        rules=RULES,
    )
