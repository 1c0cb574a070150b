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
    patient_id: int | None = None,
) -> AuditEvent:
    """Add an audit row to the session (the caller commits it with the change).

    ``patient_id`` names the patient concerned (implied when the record is a patient), so
    the change shows on their timeline and the log can be filtered by patient.
    """
    if coordinator_id is None and current_user and current_user.is_authenticated:
        coordinator_id = current_user.id
    event = AuditEvent(
        coordinator_id=coordinator_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        patient_id=patient_id or (entity_id if entity == "patient" else None),
        detail=detail[:2000],
    )
    db.session.add(event)
    return event


def record_appointment(action: str, appointment, what: str = "") -> None:
    """An appointment change: one row, filed under the appointment and naming its patient
    (whose timeline shows it); ``what`` says what changed, in words."""
    from .inbox_items import appointment_words

    detail = appointment_words(appointment)
    record(
        action,
        "appointment",
        appointment.id,
        f"{detail}: {what}" if what else detail,
        patient_id=appointment.patient_id,
    )


#: Actions that record someone looking, not changing: in the log, not on the timeline.
VIEW_ACTIONS = ("view_patient", "listen_voicemail")
#: How actions read in the log and on the timeline.
ACTION_WORDS = {
    "resolve_alert": "closed an inbox item",
    "reopen_alert": "reopened an inbox item",
    "claim_alert": "took an inbox item",
    "assign_alert": "assigned an inbox item",
    "view_patient": "opened the patient's record",
    "listen_voicemail": "listened to a voicemail",
    "enroll": "enrolled the patient",
    "edit": "changed details",
}


@bp.app_template_filter("action_words")
def action_words(action: str) -> str:
    return ACTION_WORDS.get(action, action.replace("_", " "))


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
