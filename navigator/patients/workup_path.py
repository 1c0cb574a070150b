"""Where a patient is on the path from a suspected recurrence to treatment, and when a
step is overdue.

The path: imaging, biopsy, receptor (and genomic) results, the treatment-planning visit,
treatment start. ``summarize`` is pure: studies in, the current step and the overdue
clock out. ``refresh`` writes that summary onto the workup row in the caller's
transaction, so lists and measures never rebuild the path from every study.

The overdue rules are data (``OVERDUE_RULES``): each names the setting that holds its
number of days and where the default comes from. Overdue is "the clock started on
``waiting_since`` and ``days`` have passed", which ``overdue_condition`` turns into SQL
that an index can answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, false, or_

from .. import timefmt
from ..extensions import db
from ..models import Appointment
from .workups import APPOINTMENT_KIND_OF, STUDY_KINDS, STUDY_STATUSES, Study, Workup

STEPS = ("imaging", "biopsy", "results", "planning", "treatment")
STEP_LABELS = {
    "imaging": "Imaging",
    "biopsy": "Biopsy",
    "results": "Receptor and genomic results",
    "planning": "Treatment-planning visit",
    "treatment": "Treatment start",
    "complete": "Treatment started",
}
STEP_OF = {
    "ct": "imaging",
    "bone-scan": "imaging",
    "pet-ct": "imaging",
    "mri": "imaging",
    "biopsy": "biopsy",
    "receptors": "results",
    "genomic": "results",
    "planning": "planning",
    "treatment": "treatment",
}
#: The status at which a study stops holding up the path: a test when its result is in.
FINISHED_AT = {kind: "done" for kind in STUDY_KINDS} | {
    "receptors": "result_received",
    "genomic": "result_received",
}
#: The date that says when a study finished, by the status it finished at.
FINISH_DATE = {"done": "done_on", "result_received": "result_on"}


@dataclass(frozen=True)
class OverdueRule:
    id: str
    label: str
    setting: str
    default_days: int
    source: str


OVERDUE_RULES = (
    OverdueRule(
        "biopsy_not_booked",
        "No biopsy booked since imaging was done",
        "OVERDUE_BIOPSY_BOOKING_DAYS",
        7,
        "project choice (issue 13's example); the content rubric gives no figure",
    ),
    OverdueRule(
        "results_pending",
        "Receptor results pending since the biopsy",
        "OVERDUE_RESULTS_DAYS",
        10,
        "content rubric §7: the pathology report usually reaches the doctor within about 10 days",
    ),
    OverdueRule(
        "genomic_pending",
        "Genomic or blood biomarker result pending since it was ordered",
        "OVERDUE_GENOMIC_DAYS",
        28,
        "content rubric §7: gene panels 'up to 4 weeks' (a weak, pharma-run source)",
    ),
    OverdueRule(
        "planning_not_booked",
        "No treatment-planning visit booked since the receptor results",
        "OVERDUE_PLANNING_BOOKING_DAYS",
        10,
        "project choice (issue 13's example); the content rubric gives no figure",
    ),
)
RULES = {rule.id: rule for rule in OVERDUE_RULES}
#: Settings and their defaults, set on the app unless the environment gave a value.
DEFAULTS = {rule.setting: rule.default_days for rule in OVERDUE_RULES}


@dataclass(frozen=True)
class PathSummary:
    step: str
    step_since: date | None
    waiting_rule: str | None
    waiting_since: date | None
    biopsy_on: date | None
    results_on: date | None
    treatment_on: date | None


def reached(status: str, wanted: str) -> bool:
    """Whether ``status`` is ``wanted`` or comes after it (``not_needed`` never does)."""
    return status != "not_needed" and STUDY_STATUSES.index(status) >= STUDY_STATUSES.index(wanted)


def finished(study) -> bool:
    return reached(study.status, FINISHED_AT[study.kind])


def finished_on(study) -> date | None:
    """The day a finished study finished: done or reported; a later date if that is empty."""
    for name in ("done_on", "result_on", "reviewed_on"):
        if name == "done_on" and FINISHED_AT[study.kind] != "done":
            continue
        if getattr(study, name):
            return getattr(study, name)
    return None


def _first(dates) -> date | None:
    known = [d for d in dates if d]
    return min(known) if known else None


def summarize(studies, suspected_on: date | None) -> PathSummary:
    """The current step, since when, and which overdue clock runs (pure)."""
    needed = [s for s in studies if s.status != "not_needed"]
    by_step = {step: [s for s in needed if STEP_OF[s.kind] == step] for step in STEPS}
    step, since = "complete", suspected_on
    for name in STEPS:
        if any(not finished(s) for s in by_step[name]):
            step = name
            break
        ends = [finished_on(s) for s in by_step[name]]
        since = max([d for d in ends if d] + ([since] if since else []), default=since)

    def done_dates(kind):
        return [finished_on(s) for s in needed if s.kind == kind and finished(s)]

    biopsy_on = _first(done_dates("biopsy"))
    results_on = _first(done_dates("receptors"))
    rule, clock = _waiting(step, by_step, since, biopsy_on)
    return PathSummary(
        step, since, rule, clock, biopsy_on, results_on, _first(done_dates("treatment"))
    )


def _waiting(step, by_step, since, biopsy_on) -> tuple[str | None, date | None]:
    """Which overdue rule's clock is running, and since when."""
    if step == "biopsy" and not any(reached(s.status, "scheduled") for s in by_step["biopsy"]):
        return "biopsy_not_booked", since
    if step == "results":
        receptors = [s for s in by_step["results"] if s.kind == "receptors"]
        if any(not finished(s) for s in receptors):
            return "results_pending", biopsy_on or since
        genomic = [s for s in by_step["results"] if s.kind == "genomic" and not finished(s)]
        if genomic:
            return "genomic_pending", _first(s.ordered_on for s in genomic) or since
    if step == "planning" and not any(reached(s.status, "scheduled") for s in by_step["planning"]):
        return "planning_not_booked", since
    return None, None


def refresh(workup: Workup) -> None:
    """Follow the patient's appointments, then rewrite ``workup``'s summary from its
    studies (the caller commits)."""
    db.session.flush()
    link_appointments(workup)
    db.session.flush()
    studies = db.session.scalars(db.select(Study).filter_by(workup_id=workup.id)).all()
    summary = summarize(studies, workup.suspected_on)
    for name, value in vars(summary).items():
        setattr(workup, name, value)


def follow_appointments(patient_id: int) -> None:
    """After an appointment is booked, moved or cancelled: bring the patient's workup (if
    any) up to date in the same transaction."""
    workup = db.session.scalar(db.select(Workup).filter_by(patient_id=patient_id))
    if workup is not None:
        refresh(workup)


def link_appointments(workup: Workup) -> None:
    """Keep studies in step with the patient's appointments.

    A study still to be ordered or ordered takes the earliest appointment of its kind that
    no other study has, and is then scheduled; a scheduled study's date follows its
    appointment when that moves; a linked appointment that is done makes the study done
    on its day; a cancelled one is let go, and the study is ordered again.
    """
    studies = db.session.scalars(
        db.select(Study).filter_by(workup_id=workup.id).order_by(Study.position, Study.id)
    ).all()
    appointments = db.session.scalars(
        db.select(Appointment)
        .filter_by(patient_id=workup.patient_id)
        .order_by(Appointment.starts_at, Appointment.id)
    ).all()
    by_id = {a.id: a for a in appointments}
    taken = {s.appointment_id for s in studies if s.appointment_id}
    for study in studies:
        linked = by_id.get(study.appointment_id) if study.appointment_id else None
        if linked is not None and linked.status == "cancelled":
            study.appointment_id, linked = None, None
            if study.status == "scheduled":
                study.status, study.scheduled_on = "ordered", None
        kind = APPOINTMENT_KIND_OF.get(study.kind)
        if linked is None and kind and study.status in ("to_order", "ordered"):
            linked = next(
                (
                    a
                    for a in appointments
                    if a.kind == kind and a.status != "cancelled" and a.id not in taken
                ),
                None,
            )
            if linked is not None:
                taken.add(linked.id)
                study.appointment_id, study.status = linked.id, "scheduled"
                study.scheduled_on = site_day(linked)
        if linked is not None and study.status == "scheduled":
            study.scheduled_on = site_day(linked)  # a moved appointment moves the study
            if linked.status == "done":
                study.status, study.done_on = "done", site_day(linked)


def site_day(appointment: Appointment) -> date:
    """The appointment's day where it happens."""
    return timefmt.local_date(appointment.starts_at, appointment.timezone)


def rule_days(config) -> dict[str, int]:
    """Each rule's number of days, from the settings."""
    return {rule.id: int(config[rule.setting]) for rule in OVERDUE_RULES}


def overdue_condition(today: date, days: dict[str, int]):
    """SQL: the workup's running clock started at least its rule's days before ``today``."""
    clauses = [
        and_(Workup.waiting_rule == rule_id, Workup.waiting_since <= today - timedelta(days=n))
        for rule_id, n in days.items()
    ]
    return or_(*clauses) if clauses else false()


def is_overdue(workup: Workup, today: date, days: dict[str, int]) -> bool:
    """The same test as ``overdue_condition``, for one loaded row."""
    if workup.waiting_rule is None or workup.waiting_since is None:
        return False
    return workup.waiting_since <= today - timedelta(days=days[workup.waiting_rule])


def init_app(app) -> None:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
