"""The workup's tables: one workup per patient, its studies, receptor results, notes and
barriers. Tables and tiny helpers only; the path rules live in ``workup_path``.

Kept beside ``models.py`` (not in it) so the workup can grow without every change to
the core tables meeting it. Nothing here is ever texted or spoken to a patient: results,
notes and barriers are for the care team's eyes only (``outbound`` never reads them).

A workup row carries a summary of where the patient is (``step``, ``step_since``, the
overdue clock, the milestone dates). ``workup_path.refresh`` rewrites it in the
transaction of every change to a study, so the worklist and the measures read one row
per patient instead of rebuilding the path from every study.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from ..extensions import db
from ..models import Alert, Appointment, AuditEvent, Patient, insert, utcnow
from .measures import Dates, tally

#: The studies of a recurrence workup, in the order they usually happen.
STUDY_KINDS = (
    "ct",
    "bone-scan",
    "pet-ct",
    "mri",
    "biopsy",
    "receptors",
    "genomic",
    "planning",
    "treatment",
)
STUDY_LABELS = {
    "ct": "CT scan",
    "bone-scan": "Bone scan",
    "pet-ct": "PET/CT scan",
    "mri": "MRI",
    "biopsy": "Biopsy",
    "receptors": "Receptor testing (ER, PR, HER2)",
    "genomic": "Genomic or blood biomarker testing",
    "planning": "Treatment-planning visit",
    "treatment": "Treatment start",
}
#: Which appointment kinds can stand for a study (receptor and genomic tests have none).
APPOINTMENT_KIND_OF = {
    "ct": "ct",
    "bone-scan": "bone-scan",
    "pet-ct": "pet-ct",
    "mri": "mri",
    "biopsy": "biopsy",
    "planning": "visit",
}
STUDY_STATUSES = (
    "not_needed",
    "to_order",
    "ordered",
    "scheduled",
    "done",
    "result_received",
    "reviewed",
)
STATUS_LABELS = {
    "not_needed": "Not needed",
    "to_order": "To be ordered",
    "ordered": "Ordered",
    "scheduled": "Scheduled",
    "done": "Done",
    "result_received": "Result received",
    "reviewed": "Reviewed with patient",
}
#: The date each status is recorded on (``not_needed`` and ``to_order`` have none).
STATUS_DATE = {
    "ordered": "ordered_on",
    "scheduled": "scheduled_on",
    "done": "done_on",
    "result_received": "result_on",
    "reviewed": "reviewed_on",
}

BARRIER_KINDS = ("transport", "cost", "interpreter", "caregiving", "work", "fear", "other")
BARRIER_LABELS = {
    "transport": "Transport",
    "cost": "Cost",
    "interpreter": "Interpreter",
    "caregiving": "Caregiving",
    "work": "Work",
    "fear": "Fear or worry",
    "other": "Other",
}

#: Hormone receptors as pathology reports them (ER-low is 1-10% of cells staining).
RECEPTOR_VALUES = ("positive", "low", "negative")
#: HER2 as treatment now depends on it: 0 and ultralow are both "HER2-negative" on older
#: reports, low (IHC 1+ or 2+ without amplification) opens T-DXd in metastatic disease.
HER2_VALUES = ("0", "ultralow", "low", "positive")
RESULT_TIMINGS = ("before", "now")

# Core tables read by patient on the worklist (next appointment, open inbox items).
Index("ix_appointments_patient_starts", Appointment.patient_id, Appointment.starts_at)
Index("ix_alerts_open_patient", Alert.patient_id, Alert.resolved_at)
Index("ix_alerts_resolved_at", Alert.resolved_at)
# The worklist sorted by name reads patients in name order, fifty at a time.
Index("ix_patients_name", Patient.name)
# The worklist filtered by language reads only those patients' ids.
Index("ix_patients_language", Patient.language, Patient.id)
# The patient page looks up the audited cancellations of this patient's appointments.
Index("ix_audit_events_entity", AuditEvent.entity, AuditEvent.entity_id)


class Workup(db.Model):
    """A patient's workup for a suspected recurrence, and a summary of where it stands."""

    __tablename__ = "workups"
    __table_args__ = (
        Index("ix_workups_open_step", "closed_at", "step", "step_since"),
        Index("ix_workups_waiting", "waiting_rule", "waiting_since"),
        Index("ix_workups_suspected_on", "suspected_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    #: When a recurrence was first suspected: day 0 of every measure. None: not recorded.
    #: (The measured dates keep their old value on change: ``MeasureCount`` needs it.)
    suspected_on: Mapped[date | None] = mapped_column(Date, active_history=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("coordinators.id"), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_reason: Mapped[str | None] = mapped_column(String(200))
    # The summary ``workup_path.refresh`` keeps.
    step: Mapped[str] = mapped_column(String(20), default="imaging")
    step_since: Mapped[date | None] = mapped_column(Date)
    waiting_rule: Mapped[str | None] = mapped_column(String(40))
    waiting_since: Mapped[date | None] = mapped_column(Date)
    biopsy_on: Mapped[date | None] = mapped_column(Date, active_history=True)
    results_on: Mapped[date | None] = mapped_column(Date, active_history=True)
    treatment_on: Mapped[date | None] = mapped_column(Date, active_history=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    studies: Mapped[list[Study]] = relationship(
        back_populates="workup", order_by="Study.position, Study.id"
    )


class Study(db.Model):
    """One study of the workup: a scan, the biopsy, a test, the planning visit, treatment.

    Each status has its own date (``STATUS_DATE``), so a study keeps when it was ordered,
    scheduled, done and reported. ``appointment_id`` links the booked appointment, whose
    day stands in for ``scheduled_on`` when that is empty.
    """

    __tablename__ = "workup_studies"

    id: Mapped[int] = mapped_column(primary_key=True)
    workup_id: Mapped[int] = mapped_column(ForeignKey("workups.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="to_order")
    ordered_on: Mapped[date | None] = mapped_column(Date)
    scheduled_on: Mapped[date | None] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date)
    result_on: Mapped[date | None] = mapped_column(Date)
    reviewed_on: Mapped[date | None] = mapped_column(Date)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    detail: Mapped[str | None] = mapped_column(String(200))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("coordinators.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    workup: Mapped[Workup] = relationship(back_populates="studies")


class ReceptorResult(db.Model):
    """ER, PR and HER2 of the first cancer (``before``) or of the recurrence (``now``).

    Biopsy site and whether tissue was obtained belong to the biopsy that gave the result.
    """

    __tablename__ = "receptor_results"
    __table_args__ = (
        db.UniqueConstraint("patient_id", "timing", name="uq_receptor_results_patient_timing"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    timing: Mapped[str] = mapped_column(String(6))
    er: Mapped[str | None] = mapped_column(String(10))
    pr: Mapped[str | None] = mapped_column(String(10))
    her2: Mapped[str | None] = mapped_column(String(10))
    biopsy_site: Mapped[str | None] = mapped_column(String(120))
    tissue_obtained: Mapped[bool | None] = mapped_column(Boolean)
    tested_on: Mapped[date | None] = mapped_column(Date)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("coordinators.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


NOTE_MAX = 2000


class CoordinatorNote(db.Model):
    """A note a coordinator writes on the patient's timeline. Never sent to anyone."""

    __tablename__ = "coordinator_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("coordinators.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Barrier(db.Model):
    """Something standing between the patient and their care, from ``BARRIER_KINDS``."""

    __tablename__ = "barriers"
    __table_args__ = (Index("ix_barriers_open", "patient_id", "resolved_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    kind: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(String(200))
    raised_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("coordinators.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("coordinators.id"))


def start_workup(patient_id: int, suspected_on: date | None = None, owner_id=None) -> Workup:
    """A new workup with a row for every usual study, each to be ordered (caller commits).

    The coordinator marks the studies this patient does not need; a second biopsy or scan
    is added as a row of its own.
    """
    workup = Workup(patient_id=patient_id, suspected_on=suspected_on, owner_id=owner_id)
    workup.step_since = suspected_on
    db.session.add(workup)
    db.session.flush()
    for position, kind in enumerate(STUDY_KINDS):
        db.session.add(Study(workup_id=workup.id, kind=kind, position=position, status="to_order"))
    return workup


def workup_of(patient_id: int) -> Workup | None:
    return db.session.scalar(db.select(Workup).filter_by(patient_id=patient_id))


class MeasureCount(db.Model):
    """The program measures' tally, kept as the dates are recorded: how many patients
    suspected in ``month`` and speaking ``language`` reached ``milestone`` in ``days``
    (``navigator.measures.tally``; milestone "suspected_on", days 0, counts the patients
    with a suspected date). The measures page reads these few hundred rows instead of
    every workup; ``_keep_measure_counts`` moves a patient's counts in the transaction
    that changes their dates or language, and ``recount`` rebuilds them."""

    __tablename__ = "measure_counts"

    milestone: Mapped[str] = mapped_column(String(20), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    days: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    patients: Mapped[int] = mapped_column(Integer, default=0)


MEASURED = ("suspected_on", "biopsy_on", "results_on", "treatment_on")


def _value(obj, name: str, before: bool):
    """An attribute's value now, or (``before``) as the database holds it."""
    if not before:
        return getattr(obj, name)
    history = inspect(obj).attrs[name].history
    return history.deleted[0] if history.deleted else getattr(obj, name)


def _dates(workup: Workup, patient: Patient | None, before: bool) -> list[Dates]:
    suspected = _value(workup, "suspected_on", before)
    if suspected is None:
        return []
    language = _value(patient, "language", before) if patient is not None else ""
    ends = [_value(workup, name, before) for name in MEASURED[1:]]
    return [Dates(suspected, language or "", *ends)]


@event.listens_for(Session, "before_flush")
def _keep_measure_counts(session, _context, _instances) -> None:
    """Move the measures' counts of every workup whose dates (or patient's language) this
    flush changes: its old counts out, its new ones in, in the same transaction."""
    changed = [*session.new, *session.dirty, *session.deleted]
    workups = {
        id(o): o
        for o in changed
        if isinstance(o, Workup)
        and (
            not inspect(o).persistent
            or any(inspect(o).attrs[name].history.has_changes() for name in MEASURED)
        )
    }
    if not workups and not any(
        isinstance(o, Patient) and inspect(o).attrs.language.history.deleted for o in changed
    ):
        return
    with session.no_autoflush:
        for patient in (o for o in changed if isinstance(o, Patient)):
            if inspect(patient).persistent and inspect(patient).attrs.language.history.deleted:
                workup = session.scalar(db.select(Workup).filter_by(patient_id=patient.id))
                if workup is not None:
                    workups[id(workup)] = workup
        moves: Counter = Counter()
        for workup in workups.values():
            state = inspect(workup)
            patient = session.get(Patient, workup.patient_id) if workup.patient_id else None
            if state.persistent or state.deleted:
                for *key, n in tally(_dates(workup, patient, before=True)):
                    moves[tuple(key)] -= n
            if workup not in session.deleted:
                for *key, n in tally(_dates(workup, patient, before=False)):
                    moves[tuple(key)] += n
        _add_counts(session, {key: n for key, n in moves.items() if n})


def _add_counts(session, moves: dict[tuple, int]) -> None:
    table = MeasureCount.__table__
    for (milestone, month, language, days), n in moves.items():
        row = {"milestone": milestone, "month": month, "language": language, "days": days}
        session.connection().execute(
            insert(table)
            .values(**row, patients=n)
            .on_conflict_do_update(
                index_elements=list(row), set_={"patients": table.c.patients + n}
            )
        )


def recount() -> None:
    """Rebuild the measures' tally from every workup's recorded dates (the caller commits):
    after dates were written without the ORM, as the benchmark's bulk fill does."""
    rows = db.session.execute(
        db.select(
            Workup.suspected_on, Patient.language, *(getattr(Workup, n) for n in MEASURED[1:])
        )
        .join(Patient, Patient.id == Workup.patient_id)
        .where(Workup.suspected_on.is_not(None))
    ).all()
    db.session.execute(db.delete(MeasureCount))
    db.session.add_all(
        MeasureCount(milestone=m, month=month, language=lang, days=d, patients=n)
        for m, month, lang, d, n in tally([Dates(*row) for row in rows])
    )


def barriers_of(patient_id: int) -> list[Barrier]:
    """Open barriers first, then resolved ones, newest first within each."""
    return db.session.scalars(
        db.select(Barrier)
        .filter_by(patient_id=patient_id)
        .order_by(Barrier.resolved_at.is_not(None), Barrier.raised_at.desc())
    ).all()
