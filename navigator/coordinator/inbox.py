"""The inbox of what needs a person, and the outbox of the embedded mode.

Order: warning signs first, then voicemails and callback requests, reschedule requests,
failed deliveries; oldest first within each, since the longest wait matters most.
Marking an item done records who and when.
"""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import case

from .. import reminders
from ..content import catalog
from ..extensions import db
from ..models import Alert, Coordinator, Message, Patient, Reminder, utcnow
from ..outbound import RECORDING_SID, RecordingUnavailable, fetch_recording
from ..phones import for_humans
from . import bp
from .audit import record
from .forms import ConfirmForm
from .patients import ALERT_LABELS

PRIORITY = (
    "red_flag",
    "voicemail",
    "callback",
    "question",
    "identity_locked",
    "reschedule",
    "delivery_failed",
)
GROUPS = [
    ("red_flag", "Warning signs"),
    ("voicemail", "Voicemails and callback requests"),
    ("reschedule", "Reschedule requests"),
    ("delivery_failed", "Failed deliveries"),
]
GROUP_OF = {
    "red_flag": "red_flag",
    "voicemail": "voicemail",
    "callback": "voicemail",
    "question": "voicemail",  # a question for a person: someone must reply
    "identity_locked": "voicemail",  # someone should call the patient
    "reschedule": "reschedule",
    "delivery_failed": "delivery_failed",
}


def open_alerts() -> list[tuple[Alert, Patient | None]]:
    """Unresolved alerts in inbox order, each with its patient (None for strangers)."""
    # Voicemails and callback requests share a rank: one group, oldest first.
    groups = [key for key, _ in GROUPS]
    rank = case(
        {kind: groups.index(GROUP_OF[kind]) for kind in PRIORITY},
        value=Alert.kind,
        else_=len(groups),
    )
    return db.session.execute(
        db.select(Alert, Patient)
        .outerjoin(Patient, Patient.id == Alert.patient_id)
        .where(Alert.resolved_at.is_(None))
        .order_by(rank, Alert.created_at, Alert.id)
    ).all()


@bp.get("/inbox")
def inbox():
    """What needs a person now, and what was done most recently."""
    groups = {key: [] for key, _ in GROUPS}
    for alert, patient in open_alerts():
        groups[GROUP_OF.get(alert.kind, "delivery_failed")].append((alert, patient))
    done = db.session.execute(
        db.select(Alert, Patient, Coordinator)
        .outerjoin(Patient, Patient.id == Alert.patient_id)
        .outerjoin(Coordinator, Coordinator.id == Alert.resolved_by_id)
        .where(Alert.resolved_at.is_not(None))
        .order_by(Alert.resolved_at.desc())
        .limit(20)
    ).all()
    return render_template(
        "coordinator/inbox.html",
        groups=groups,
        titles=dict(GROUPS),
        done=done,
        labels=ALERT_LABELS,
        form=ConfirmForm(),
    )


def mark_done(alert: Alert) -> None:
    """The item is dealt with: who and when, and the audit row; the caller commits."""
    alert.resolved_at = utcnow()
    alert.resolved_by_id = current_user.id
    record("resolve_alert", "alert", alert.id, alert.kind)


@bp.post("/inbox/<int:alert_id>/done")
def resolve(alert_id: int):
    """Mark an inbox item done, recording who and when."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    alert = db.get_or_404(Alert, alert_id)
    if alert.resolved_at is None:
        mark_done(alert)
        if alert.patient_id:
            record("resolve_alert", "patient", alert.patient_id, f"{alert.kind} #{alert.id}")
        db.session.commit()
        flash(f"Marked done: {ALERT_LABELS.get(alert.kind, alert.kind).lower()}.", "success")
    return redirect(url_for("coordinator.inbox"))


@bp.app_template_test("playable")
def playable(recording_url: str | None) -> bool:
    """A voicemail with audio at Twilio (the try-it panel's pretend voicemails have none)."""
    return bool(recording_url and RECORDING_SID.search(recording_url))


@bp.get("/inbox/<int:alert_id>/voicemail.mp3")
def voicemail(alert_id: int):
    """A voicemail's audio, fetched from Twilio for the coordinator's browser.

    Listening is access to patient data, so it is in the audit log, like a change.
    """
    alert = db.get_or_404(Alert, alert_id)
    if not alert.recording_url:
        abort(404)
    try:
        audio = fetch_recording(alert.recording_url)
    except RecordingUnavailable as exc:
        return render_template(
            "coordinator/error.html",
            code=exc.status,
            title="The voicemail cannot be played",
            text=exc.reason,
        ), exc.status
    record("listen_voicemail", "alert", alert.id)
    db.session.commit()
    return Response(
        audio,
        mimetype="audio/mpeg",
        headers={"Content-Disposition": f'inline; filename="voicemail-{alert.id}.mp3"'},
    )


def call_script(message: Message) -> str:
    """What a reminder call kept in the outbox would say, in the patient's language.

    A call's row has no body (Twilio fetches the words from our TwiML URL when the call is
    answered), so they are rendered here as that URL would render them now.
    """
    reminder = db.session.get(Reminder, message.reminder_id) if message.reminder_id else None
    if reminder is None or reminder.channel != "voice":
        return ""
    language = reminders.language_for(reminder)
    config = current_app.config
    contact = for_humans(config.get("CARE_TEAM_PHONE") or config["TWILIO_PHONE_NUMBER"])
    menu = catalog().render("reminders.voice.menu", language, contact=contact)
    return " ".join([*reminders.voice_lines(reminder), menu])


@bp.get("/outbox")
def outbox():
    """Every text and call kept in the local outbox instead of being sent, newest first.

    That is everything in the embedded mode, and with a Twilio account what went to
    fictional numbers (practice patients and the try-it panel's unknown callers).
    """
    rows = db.session.execute(
        db.select(Message, Patient)
        .outerjoin(Patient, Patient.id == Message.patient_id)
        .where(Message.transport == "outbox")
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(200)
    ).all()
    messages = [(m, p, call_script(m) if m.channel == "voice" else m.body) for m, p in rows]
    embedded = not current_app.config.get("TWILIO_ACCOUNT_SID")
    return render_template("coordinator/outbox.html", messages=messages, embedded=embedded)
