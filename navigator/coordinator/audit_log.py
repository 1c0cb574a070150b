"""The audit log page: who changed what, and when, filtered by coordinator, patient,
action and day; and ``record_appointment``, an appointment change as a nurse reads it.
Rows are written by ``navigator.audit.records``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import render_template, request
from flask_login import current_user

from .. import timefmt
from ..audit.records import action_words
from ..extensions import db
from ..models import AuditEvent, Coordinator, Patient
from .blueprint import bp

PAGE_SIZE = 50


bp.app_template_filter("action_words")(action_words)


@bp.get("/audit")
def audit_log():
    """The newest changes and record views first, fifty a page, filtered by who, which
    patient, what and when (ids and dates only in the address, never names)."""
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    filters = _filters()
    query = (
        db.select(AuditEvent, Coordinator, Patient)
        .outerjoin(Coordinator, Coordinator.id == AuditEvent.coordinator_id)
        .outerjoin(Patient, Patient.id == AuditEvent.patient_id)
        .where(*filters.conditions())
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(PAGE_SIZE + 1)
        .offset((page - 1) * PAGE_SIZE)
    )
    rows = db.session.execute(query).all()
    return render_template(
        "coordinator/audit.html",
        rows=rows[:PAGE_SIZE],
        page=page,
        more=len(rows) > PAGE_SIZE,
        filters=filters,
        coordinators=db.session.scalars(db.select(Coordinator).order_by(Coordinator.email)).all(),
        actions=sorted(
            db.session.scalars(db.select(AuditEvent.action).distinct()).all(), key=action_words
        ),
        patient=db.session.get(Patient, filters.patient) if filters.patient else None,
        args={k: v for k, v in request.args.items() if k != "page" and v},
    )


@dataclass
class AuditFilters:
    """What the audit log is narrowed to; each is optional."""

    who: int | None = None
    patient: int | None = None
    action: str = ""
    since: date | None = None
    until: date | None = None
    problems: list[str] = field(default_factory=list)

    def conditions(self) -> list:
        zone = getattr(current_user, "timezone", None) or "UTC"
        found = []
        if self.who:
            found.append(AuditEvent.coordinator_id == self.who)
        if self.patient:
            found.append(AuditEvent.patient_id == self.patient)
        if self.action:
            found.append(AuditEvent.action == self.action)
        if self.since:
            found.append(AuditEvent.created_at >= timefmt.midnight_utc(self.since, zone))
        if self.until:
            found.append(
                AuditEvent.created_at < timefmt.midnight_utc(self.until + timedelta(days=1), zone)
            )
        return found


def _filters() -> AuditFilters:
    args = request.args
    filters = AuditFilters(
        who=args.get("who", type=int),
        patient=args.get("patient", type=int),
        action=args.get("action", "").strip()[:60],
    )
    for name, label in (("since", "From"), ("until", "To")):
        text = args.get(name, "").strip()
        if not text:
            continue
        try:
            setattr(filters, name, date.fromisoformat(text))
        except ValueError:
            filters.problems.append(f"{label}: enter a date like 2026-12-01.")
    return filters
