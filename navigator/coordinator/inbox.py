"""The inbox of what needs a person, and the outbox of the embedded mode.

Order: warning signs first, then voicemails and callback requests, reschedule requests,
failed deliveries; oldest first within each, since the longest wait matters most.
Each item tells its story (inbox_items.py); a coordinator claims it or assigns it to a
colleague, and closes it with an outcome and a note that reach the timeline and the
audit log, which can be undone the same day. Warning signs nobody claimed in time are
shown as overdue. Below them, the oldest appointments the scheduling feed could not
apply (an unmatched patient, an unknown code, ...), which are resolved on the feed's own
page: no reminder goes out for them until someone does, so they must not wait unseen.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import case
from sqlalchemy.orm import aliased

from .. import timefmt
from ..audit.records import record
from ..extensions import db
from ..feed.apply import PROBLEMS
from ..models import ALERT_KINDS, Alert, Coordinator, Message, Patient, Reminder, utcnow
from ..reminders import keypad as reminder_keypad
from ..reminders import wording
from ..telephony.outbound import RECORDING_SID, RecordingUnavailable, fetch_recording
from . import feed_pages as feed
from . import inbox_items
from .blueprint import bp
from .forms import ConfirmForm
from .inbox_forms import AssignForm, CloseForm
from .patient_pages import ALERT_LABELS

PRIORITY = ALERT_KINDS  # listed there in the order a person should see them
GROUPS = [
    ("red_flag", "Warning signs"),
    ("voicemail", "Voicemails and callback requests"),
    ("reschedule", "Appointments: reschedule requests and changes to tell"),
    ("delivery_failed", "Failed deliveries"),
]
GROUP_OF = {
    "red_flag": "red_flag",
    "voicemail": "voicemail",
    "callback": "voicemail",
    "question": "voicemail",  # a question for a person: someone must reply
    "identity_locked": "voicemail",  # someone should call the patient
    "reschedule": "reschedule",
    "notice_waiting": "reschedule",  # a change a person must tell the patient about
    "delivery_failed": "delivery_failed",
}


#: Open items shown on one page of the inbox.
PAGE_SIZE = 25
#: Scheduling-feed items shown in the inbox; the feed page lists them all.
FEED_SHOWN = 5


def open_alerts(limit: int | None = None, offset: int = 0) -> list[tuple[Alert, Patient | None]]:
    """Unresolved alerts in inbox order, each with its patient (None for strangers);
    ``limit`` of them from ``offset`` on when given (a page)."""
    # Voicemails and callback requests share a rank: one group, oldest first.
    groups = [key for key, _ in GROUPS]
    rank = case(
        {kind: groups.index(GROUP_OF[kind]) for kind in PRIORITY},
        value=Alert.kind,
        else_=len(groups),
    )
    # The page's alerts first, then their patients: the patients table is read for those
    # few only, however many patients there are.
    page = (
        db.select(Alert.id, rank.label("rank"))
        .where(Alert.resolved_at.is_(None))
        .order_by(rank, Alert.created_at, Alert.id)
        .limit(limit)
        .offset(offset)
        .subquery()
    )
    return db.session.execute(
        db.select(Alert, Patient)
        .join(page, page.c.id == Alert.id)
        .outerjoin(Patient, Patient.id == Alert.patient_id)
        .order_by(page.c.rank, Alert.created_at, Alert.id)
    ).all()


def group_counts() -> dict[str, int]:
    """Open items per inbox group, in the inbox's order, counted by the database."""
    counts = {key: 0 for key, _ in GROUPS}
    for kind, n in db.session.execute(
        db.select(Alert.kind, db.func.count(Alert.id))
        .where(Alert.resolved_at.is_(None))
        .group_by(Alert.kind)
    ):
        counts[GROUP_OF.get(kind, "delivery_failed")] += n
    return counts


@dataclass
class GroupPage:
    """Where a group's open items fall: how many in all, on earlier pages, on this one,
    and the page its first item is on."""

    total: int
    before: int
    shown: int
    first_page: int

    @property
    def after(self) -> int:
        return self.total - self.before - self.shown


@bp.get("/inbox")
def inbox():
    """What needs a person now, each item telling its story, 25 a page, and what was
    done today. Each group says how many items it has in all, and where the others are
    when they fall on another page."""
    now = utcnow()
    counts = group_counts()
    total = sum(counts.values())
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    offset = (page - 1) * PAGE_SIZE
    groups = {key: [] for key, _ in GROUPS}
    for item in inbox_items.items(open_alerts(PAGE_SIZE, offset), now):
        groups[GROUP_OF.get(item.alert.kind, "delivery_failed")].append(item)
    placed, start = {}, 0
    for key, _ in GROUPS:
        before = min(max(offset - start, 0), counts[key])
        placed[key] = GroupPage(counts[key], before, len(groups[key]), start // PAGE_SIZE + 1)
        start += counts[key]
    closer = aliased(Coordinator)
    done = db.session.execute(
        db.select(Alert, Patient, closer)
        .outerjoin(Patient, Patient.id == Alert.patient_id)
        .outerjoin(closer, closer.id == Alert.resolved_by_id)
        .where(Alert.resolved_at.is_not(None))
        .order_by(Alert.resolved_at.desc())
        .limit(20)
    ).all()
    return render_template(
        "coordinator/inbox.html",
        groups=groups,
        placed=placed,
        titles=dict(GROUPS),
        page=page,
        pages=pages,
        page_size=PAGE_SIZE,
        total=total,
        first=offset + 1,
        last=offset + sum(len(items) for items in groups.values()),
        done=[(a, p, c, undoable(a, now)) for a, p, c in done],
        labels=ALERT_LABELS,
        outcomes=inbox_items.OUTCOMES,
        coordinators=_colleagues(),
        form=ConfirmForm(),
        overdue_minutes=int(inbox_items.overdue_after().total_seconds() // 60),
        feed_waiting=feed.waiting(FEED_SHOWN),
        feed_total=feed.waiting_count(),
        feed_problems=PROBLEMS,
    )


def _colleagues() -> list[Coordinator]:
    return db.session.scalars(
        db.select(Coordinator).where(Coordinator.active).order_by(Coordinator.email)
    ).all()


def display_name(coordinator: Coordinator | None) -> str:
    """A coordinator as colleagues know them: their name, else their email."""
    if coordinator is None:
        return "someone"
    return coordinator.name or coordinator.email


def mark_done(alert: Alert, outcome: str = "", note: str = "") -> None:
    """The item is dealt with: who, when, how, and one audit row; the caller commits.

    The audit row names the patient, so the outcome and note show on their timeline too.
    """
    alert.resolved_at = utcnow()
    alert.resolved_by_id = current_user.id
    alert.outcome = outcome or None
    alert.outcome_note = note or None
    said = inbox_items.OUTCOMES.get(outcome, "")
    detail = ALERT_LABELS.get(alert.kind, alert.kind)
    if said:
        detail += f". Outcome: {said}"
    if note:
        detail += f". Note: {note}"
    record("resolve_alert", "alert", alert.id, detail, patient_id=alert.patient_id)


def undoable(alert: Alert, now) -> bool:
    """Closed today, in the signed-in coordinator's day: it can still be reopened."""
    if alert.resolved_at is None:
        return False
    zone = current_user.timezone or "UTC"
    return timefmt.local_date(alert.resolved_at, zone) == timefmt.local_date(now, zone)


@bp.app_context_processor
def _inbox_counts() -> dict:
    """Every signed-in page shows the open count on the Inbox link and in its title."""
    if not current_user.is_authenticated:
        return {}
    return {
        "inbox_open": inbox_items.open_count(),
        "inbox_newest_warning": inbox_items.newest_warning_sign(),
    }


@bp.get("/inbox/status")
def inbox_status():
    """What the page's script polls (static/app.js): counts and ids, no patient data.

    A background poll is not use: it does not keep an idle session alive (see
    ``BACKGROUND_ENDPOINTS``).
    """
    return jsonify(
        open=inbox_items.open_count(),
        newest_warning_sign=inbox_items.newest_warning_sign(),
    )


@bp.app_template_filter("coordinator_name")
def coordinator_name(coordinator: Coordinator | None) -> str:
    return display_name(coordinator)


@bp.app_template_filter("who")
def who_filter(patient: Patient | None) -> str:
    return inbox_items.who_of(patient)


def _back():
    return redirect(url_for("coordinator.inbox"))


@bp.post("/inbox/<int:alert_id>/done")
def resolve(alert_id: int):
    """Close an inbox item with an outcome from the short list and an optional note.

    :raise 400: without a valid CSRF token. A missing outcome is refused with a message,
        changing nothing.
    """
    form = CloseForm()
    alert = db.get_or_404(Alert, alert_id)
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        problems = [e for field in (form.outcome, form.note) for e in field.errors]
        flash("Not closed. " + " ".join(problems), "error")
        return _back()
    if alert.resolved_at is not None:
        flash("This item was already closed by a colleague. Nothing changed.", "info")
        return _back()
    mark_done(alert, form.outcome.data, (form.note.data or "").strip())
    db.session.commit()
    label = ALERT_LABELS.get(alert.kind, alert.kind).lower()
    flash(f"Closed: {label}. You can undo this today from Recently done.", "success")
    return _back()


@bp.post("/inbox/<int:alert_id>/claim")
def claim(alert_id: int):
    """Take an item (or give it to a colleague, with ``owner``): others see who has it."""
    form = AssignForm()
    if not form.validate_on_submit():
        abort(400)
    alert = db.get_or_404(Alert, alert_id)
    if alert.resolved_at is not None:
        flash("This item is already closed. Nothing changed.", "info")
        return _back()
    chosen = form.owner.data or str(current_user.id)
    owner = next((c for c in _colleagues() if str(c.id) == chosen), None)
    if owner is None:
        abort(400)
    alert.owner_id, alert.owned_at = owner.id, utcnow()
    action = "claim_alert" if owner.id == current_user.id else "assign_alert"
    record(action, "alert", alert.id, f"owner: {display_name(owner)}", patient_id=alert.patient_id)
    db.session.commit()
    who = "you" if owner.id == current_user.id else display_name(owner)
    flash(f"{ALERT_LABELS.get(alert.kind, alert.kind)}: now with {who}.", "success")
    return _back()


@bp.post("/inbox/<int:alert_id>/reopen")
def reopen(alert_id: int):
    """Undo closing an item, the same day: it is open again, with its owner kept.

    :raise 400: without a valid CSRF token.
    """
    if not ConfirmForm().validate_on_submit():
        abort(400)
    alert = db.get_or_404(Alert, alert_id)
    if not undoable(alert, utcnow()):
        flash("Only items closed today can be reopened. Nothing changed.", "warning")
        return _back()
    alert.resolved_at = alert.resolved_by_id = None
    alert.outcome = alert.outcome_note = None
    label = ALERT_LABELS.get(alert.kind, alert.kind)
    record("reopen_alert", "alert", alert.id, label, patient_id=alert.patient_id)
    db.session.commit()
    flash(f"Reopened: {label.lower()}. It is back in the inbox.", "success")
    return _back()


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
    record("listen_voicemail", "alert", alert.id, patient_id=alert.patient_id)
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
    language = wording.language_for(reminder)
    return " ".join([*wording.voice_lines(reminder), reminder_keypad.menu(language)])


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
