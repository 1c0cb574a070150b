"""The audit trail: who changed what, and when; and the page that lists it.

``record`` adds a row to the current transaction, so an audit row is written exactly
when the change it describes is committed. Details name fields and ids, not values:
the trail says "edited phone", not the number.
"""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from ..extensions import db
from ..models import AuditEvent, Coordinator
from . import bp

PAGE_SIZE = 50


def record(
    action: str,
    entity: str,
    entity_id: int | None = None,
    detail: str = "",
    coordinator_id: int | None = None,
) -> AuditEvent:
    """Add an audit row to the session (the caller commits it with the change)."""
    if coordinator_id is None and current_user and current_user.is_authenticated:
        coordinator_id = current_user.id
    event = AuditEvent(
        coordinator_id=coordinator_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        detail=detail[:2000],
    )
    db.session.add(event)
    return event


def record_appointment(action: str, appointment, what: str = "") -> None:
    """An appointment change, filed under the appointment and under its patient, whose page
    shows it on the timeline; ``what`` lists what changed."""
    tail = f"; {what}" if what else ""
    record(action, "appointment", appointment.id, f"patient #{appointment.patient_id}{tail}")
    tail = f": {what}" if what else ""
    record(action, "patient", appointment.patient_id, f"appointment #{appointment.id}{tail}")


#: What command-line changes say in the audit log, where a coordinator's email would be.
FROM_COMMAND_LINE = "from the command line"


@bp.get("/audit")
def audit_log():
    """The newest changes first, fifty a page."""
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows = db.session.execute(
        db.select(AuditEvent, Coordinator.email)
        .outerjoin(Coordinator, Coordinator.id == AuditEvent.coordinator_id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(PAGE_SIZE + 1)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return render_template(
        "coordinator/audit.html", rows=rows[:PAGE_SIZE], page=page, more=len(rows) > PAGE_SIZE
    )
