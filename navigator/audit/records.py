"""Recording who changed what, and when: the audit trail's one writer.

``record`` adds a row to the current transaction, so an audit row is written exactly
when the change it describes is committed: one row a change, naming the patient it
concerns. Opening a patient's record and listening to a voicemail are recorded too
(``VIEW_ACTIONS``). Details name fields, not values: "edited phone", not the number.
The web app, the command-line tools and the feed all record here; the page that lists
the rows is the coordinator app's (``coordinator/audit_log.py``).
"""

from __future__ import annotations

from flask_login import current_user

from .. import timefmt
from ..extensions import db
from ..models import KIND_LABELS, Appointment, AuditEvent


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
    "text_patient": "texted the patient",
    "call_patient": "called the patient",
    "create_appointment": "added an appointment",
    "update_appointment": "changed an appointment",
    "cancel_appointment": "cancelled an appointment",
    "reinstate_appointment": "reinstated an appointment",
}


def action_words(action: str) -> str:
    return ACTION_WORDS.get(action, action.replace("_", " "))


#: What command-line changes say in the audit log, where a coordinator's email would be.
FROM_COMMAND_LINE = "from the command line"


def record_appointment(action: str, appointment, what: str = "") -> None:
    """An appointment change: one row, filed under the appointment and naming its patient
    (whose timeline shows it); ``what`` says what changed, in words."""
    detail = appointment_words(appointment)
    record(
        action,
        "appointment",
        appointment.id,
        f"{detail}: {what}" if what else detail,
        patient_id=appointment.patient_id,
    )


def appointment_words(appointment: Appointment | None, with_place: bool = True) -> str:
    """An appointment as a nurse says it: "Biopsy, Tue 12 Jan 09:00, Main St" (site time);
    without the place, its time alone: "Tue 12 Jan 09:00"."""
    if appointment is None:
        return ""
    local = timefmt.local(appointment.starts_at, appointment.timezone)
    if not with_place:
        return f"{local:%a %d %b %H:%M}"
    kind = KIND_LABELS.get(appointment.kind, appointment.kind)
    text = f"{kind}, {local:%a %d %b %H:%M}, {appointment.location}"
    if appointment.status == "cancelled":
        text += " (cancelled)"
    return text
