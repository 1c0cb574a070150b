"""What an inbox item says at a glance, and the rules of owning and closing one.

An item is an ``Alert``; this module gathers around it what a nurse needs before picking
up the phone: who (name, language, how they prefer to hear from us), what they said (the
text, or the words said on a call, by ``Alert.message_id``), when, what the navigator
answered, and the appointment in words. It reads; the views in inbox.py change things.

Patient words are shown to signed-in coordinators only and never logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, url_for

from ..audit.records import appointment_words
from ..catalog import catalog, site_values
from ..core.content import ContentError
from ..extensions import db
from ..models import Alert, Appointment, Coordinator, Message, Patient

#: How an item was closed: the short list a nurse chooses from (a note may add detail).
OUTCOMES = {
    "called_patient": "Called the patient",
    "sent_to_ed": "Called, sent to the emergency department",
    "care_team": "Passed to the doctor or care team",
    "appointment_changed": "Appointment made or changed",
    "left_message": "Left a message, will try again",
    "no_action": "No action needed",
}
#: How long the navigator's reply may follow the patient's words and still be "the answer".
ANSWER_WINDOW = timedelta(minutes=10)
LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}
CHANNEL_NAMES = {"sms": "prefers texts", "voice": "prefers calls"}
#: How a rule id of messages/redflags.yaml reads to a nurse.
WARNING_SIGNS = {
    "breathing_chest": "trouble breathing or chest pain",
    "stroke_seizure": "stroke or seizure signs",
    "confusion": "confusion",
    "bleeding": "bleeding",
    "crisis": "emotional crisis",
    "spinal_cord": "spinal cord signs (weak legs, numbness)",
    "fever": "fever",
    "fracture": "possible broken bone",
    "urgent": "says it is urgent",
    "back_pain": "back pain",
    "high_calcium": "high calcium signs",
    "headache_brain": "headache or brain signs",
    "emergency_question": "asked about an emergency",
}


@dataclass
class Item:
    """One inbox item with everything shown about it."""

    alert: Alert
    patient: Patient | None
    said: Message | None
    answer: Message | None
    spoken_answer: str
    appointment: str
    owner: Coordinator | None
    overdue: bool

    @property
    def what(self) -> str:
        """The alert's detail in words: a warning sign's name instead of its rule id."""
        if self.alert.kind == "red_flag":
            return WARNING_SIGNS.get(self.alert.detail, self.alert.detail.replace("_", " "))
        return self.alert.detail

    @property
    def how(self) -> str:
        """How the patient reached us: by text or on a call."""
        if self.said is None:
            return "on a call" if self.alert.recording_url else ""
        return "on a call" if self.said.channel == "voice" else "by text"

    @property
    def link(self) -> str | None:
        """The place on the patient's timeline where this happened."""
        if self.patient is None:
            return None
        anchor = f"msg-{self.said.id}" if self.said else f"alert-{self.alert.id}"
        return url_for("coordinator.patient", patient_id=self.patient.id, _anchor=anchor)

    @property
    def who(self) -> str:
        return self.patient.name if self.patient else "unknown caller"


def who_of(patient: Patient | None) -> str:
    """A patient's name and how to talk with them: "Spanish, prefers calls"."""
    if patient is None:
        return ""
    language = LANGUAGE_NAMES.get(patient.language, patient.language)
    return f"{language}, {CHANNEL_NAMES.get(patient.channel, patient.channel)}"


def overdue_after() -> timedelta:
    """``WARNING_SIGN_OVERDUE_MINUTES``: how long a warning sign may wait for an owner."""
    minutes = current_app.config["WARNING_SIGN_OVERDUE_MINUTES"]
    return timedelta(minutes=minutes)


def is_overdue(alert: Alert, now: datetime) -> bool:
    """A warning sign still open and unclaimed past the configured wait."""
    return (
        alert.kind == "red_flag"
        and alert.resolved_at is None
        and alert.owner_id is None
        and now - alert.created_at >= overdue_after()
    )


def items(rows: list[tuple[Alert, Patient | None]], now: datetime) -> list[Item]:
    """Build the items for ``rows`` (alert, patient) with a few queries for all of them."""
    alerts = [alert for alert, _ in rows]
    said = _by_id(Message, {a.message_id for a in alerts if a.message_id})
    appointments = _by_id(Appointment, {a.appointment_id for a in alerts if a.appointment_id})
    owners = _by_id(Coordinator, {a.owner_id for a in alerts if a.owner_id})
    return [
        Item(
            alert=alert,
            patient=patient,
            said=said.get(alert.message_id),
            answer=_answer_to(said.get(alert.message_id)),
            spoken_answer=_spoken_answer(alert, said.get(alert.message_id), patient),
            appointment=appointment_words(appointments.get(alert.appointment_id)),
            owner=owners.get(alert.owner_id),
            overdue=is_overdue(alert, now),
        )
        for alert, patient in rows
    ]


def _by_id(model, ids: set[int]) -> dict:
    if not ids:
        return {}
    return {row.id: row for row in db.session.scalars(db.select(model).where(model.id.in_(ids)))}


def _answer_to(said: Message | None) -> Message | None:
    """The navigator's text back to these words: the first text out to the number after them."""
    if said is None or said.channel != "sms" or not said.phone:
        return None
    return db.session.scalar(
        db.select(Message)
        .where(
            Message.phone == said.phone,
            Message.direction == "out",
            Message.channel == "sms",
            Message.id > said.id,
            Message.created_at <= said.created_at + ANSWER_WINDOW,
        )
        .order_by(Message.id)
        .limit(1)
    )


def _spoken_answer(alert: Alert, said: Message | None, patient: Patient | None) -> str:
    """What the navigator said back to a warning sign said on a call: its reply for the
    rule, in the caller's language, as the call rendered it (calls keep no words of ours).
    Empty when the wording cannot be found (content keys are another module's to change)."""
    if alert.kind != "red_flag" or said is None or said.channel != "voice":
        return ""
    language = patient.language if patient else "en"
    try:
        return catalog().render(f"redflags.{alert.detail}.text", language, **site_values())
    except (ContentError, KeyError):
        return ""


def open_count() -> int:
    """Open items, for the count on the Inbox link and in every page's title."""
    return db.session.scalar(db.select(db.func.count(Alert.id)).where(Alert.resolved_at.is_(None)))


def newest_warning_sign() -> int:
    """The id of the newest open warning sign (0: none), so a page can tell a new one."""
    return (
        db.session.scalar(
            db.select(db.func.max(Alert.id)).where(
                Alert.kind == "red_flag", Alert.resolved_at.is_(None)
            )
        )
        or 0
    )
