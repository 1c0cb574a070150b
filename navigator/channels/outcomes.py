"""Carrying out what the conversation decided: opt-outs, alerts, language, visits.

Shared by the SMS and voice webhooks so that a STOP, a warning sign or a request for a
person has the same effect whichever way it arrived. Everything happens in the current
database session; the webhook commits once, at the end.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app

from .. import alerts, opt_outs, patient_events, timefmt
from ..core.engine import Effect, Outcome, Say
from ..extensions import db
from ..models import Alert, Contact, Message, MessageReading, Patient
from ..patients import appointments
from ..reminders import wording
from . import reminder_replies

log = logging.getLogger(__name__)


#: ``Message.content_key`` of a caller's words kept from a call (``keep_spoken_words``).
SPOKEN_KEY = "voice.spoken"
#: Effects that put a call in front of a person, who must read what the caller said: a
#: warning sign, a request for a person, a question for a person, words not understood (for
#: the coordinators' labelling page) and a request about a visit.
WORDS_KEPT_FOR = {"red_flag", "callback", "question", "review", "appointment_reply"}


def keep_spoken_words(
    speech: str, kinds: set[str], phone: str, patient_id: int | None
) -> Message | None:
    """The words of a spoken warning sign or request for a person, as a row of the call.

    Only these are kept: a nurse must read them to act, and other speech stays unkept, as
    it may be health information nobody needs. They go to the database, shown to
    signed-in coordinators on the inbox item and the timeline, and never to the logs.
    """
    if not speech.strip() or not kinds & WORDS_KEPT_FOR:
        return None
    said = Message(
        direction="in",
        channel="voice",
        phone=phone,
        patient_id=patient_id,
        content_key=SPOKEN_KEY,
        body=speech.strip()[:1000],
        status="said on a call",
    )
    db.session.add(said)
    db.session.flush()
    return said


def apply(
    outcome: Outcome,
    contact: Contact,
    patient: Patient | None,
    *,
    now: datetime,
    inbound: Message | None = None,
    message_text: str = "",
    channel: str = "sms",
) -> list:
    """Carry out the outcome's effects; return its replies with effect answers added.

    Returns the list of Say/Show items to render (a repeated STOP gets no second
    confirmation; a visit question gets the visit). ``channel`` (sms or voice) is how the
    patient asked, kept on the timeline's events.
    """
    replies = list(outcome.replies)
    for effect in outcome.effects:
        if effect.kind in ("question", "review"):
            _keep_reading(effect, outcome, contact, patient, inbound)
            continue
        replies = _apply_one(
            effect, replies, contact, patient, now, inbound, message_text, outcome.language, channel
        )
    contact.menu_node = outcome.position.node
    contact.menu_page = outcome.position.page
    if outcome.language != contact.language:
        contact.language = outcome.language
        if patient:
            patient.language = outcome.language
    return replies


def _apply_one(
    effect: Effect,
    replies: list,
    contact: Contact,
    patient: Patient | None,
    now: datetime,
    inbound: Message | None,
    text: str,
    language: str,
    channel: str,
) -> list:
    kind = effect.kind
    if kind == "red_flag":
        alerts.raise_alert("red_flag", contact, patient, detail=effect.detail, message=inbound)
    elif kind == "opt_out":
        if not opt_outs.record_opt_out(contact, patient, now=now, channel=channel):
            # One confirmation per opt-out: a second STOP is recorded, not answered.
            replies = [
                r for r in replies if not (isinstance(r, Say) and r.key == "prompts.sms.stop")
            ]
    elif kind == "opt_in":
        if contact.opted_out:
            _event("opted_in", contact, patient, channel, now)
        contact.opted_in_at = now
    elif kind == "set_language":
        contact.language_chosen = True
    elif kind == "callback":
        request_callback(contact, patient, detail=effect.detail, message=inbound)
    elif kind == "next_appointment":
        replies = replies + next_appointment_replies(patient, language, now, channel="sms")
    elif kind == "appointment_reply":
        replies = replies + appointment_reply(patient, effect, text, now, channel)
    elif kind == "prep":
        replies = _your_test(patient, effect.topic, language, now) + replies
    return replies


def _keep_reading(
    effect: Effect,
    outcome: Outcome,
    contact: Contact,
    patient: Patient | None,
    inbound: Message | None,
) -> None:
    """Keep how an unsure or person-bound message was read; a question goes to a person.

    One open "question for a person" per number: later questions are added to it (each
    message's reading points at the item), so the coordinators see one conversation.
    """
    if inbound is None or outcome.reading is None:
        return
    reading = db.session.scalar(db.select(MessageReading).filter_by(message_id=inbound.id))
    if reading is None:
        reading = MessageReading(
            message_id=inbound.id,
            intent=outcome.reading.intent,
            confidence=round(outcome.reading.confidence, 3),
            understood=outcome.reading.understood,
            language=outcome.reading.language,
        )
        db.session.add(reading)
    if effect.kind == "question":
        alert = db.session.scalar(
            db.select(Alert)
            .where(
                Alert.kind == "question",
                Alert.phone == contact.phone,
                Alert.resolved_at.is_(None),
            )
            .order_by(Alert.id)
            .limit(1)
        )
        if alert is None:
            alert = alerts.raise_alert(
                "question", contact, patient, detail=effect.detail, message=inbound
            )
            db.session.flush()
        reading.alert_id = alert.id


def _your_test(patient: Patient | None, topic: str | None, language: str, now) -> list[Say]:
    """ "About your CT scan on Tuesday...": the appointment a preparation question is about."""
    if patient is None:
        return []
    upcoming = appointments.upcoming(patient, now)
    chosen = next((a for a in upcoming if a.kind == topic), upcoming[0] if upcoming else None)
    if chosen is None or (topic and chosen.kind != topic and topic != "visit"):
        return []
    when = timefmt.spoken_datetime(chosen.starts_at, chosen.timezone, language)
    test = current_app.extensions["content"].render(f"answers.tests.{chosen.kind}", language)
    return [Say("answers.your_test", {"test": test, "when": when})]


def _event(
    kind: str, contact: Contact, patient: Patient | None, channel: str, now: datetime
) -> None:
    """Keep the change of state on the timeline (only a change: a second STOP is not one)."""
    patient_events.record(
        kind, contact.phone, patient_id=patient.id if patient else None, channel=channel, at=now
    )


def request_callback(
    contact: Contact, patient: Patient | None, *, detail: str = "", message: Message | None = None
) -> None:
    """Ask the coordinators to call this number back, unless a request already waits."""
    if not _callback_waiting(contact):
        alerts.raise_alert(
            "callback", contact, patient, detail=detail or "asked for a person", message=message
        )


def _callback_waiting(contact: Contact) -> bool:
    """A call-back request from this number is already in the inbox, not yet done.

    Asking again (a worried patient texts 0 three times) still gets the reply, but adds no
    second inbox item: the first one is already waiting, oldest first.
    """
    return (
        db.session.scalar(
            db.select(Alert.id)
            .where(
                Alert.kind == "callback",
                Alert.phone == contact.phone,
                Alert.resolved_at.is_(None),
            )
            .limit(1)
        )
        is not None
    )


def next_appointment_replies(
    patient: Patient | None, language: str, now: datetime, channel: str
) -> list[Say]:
    """The patient's next visit and how to prepare, or why there is none to tell."""
    if patient is None:
        return [Say(f"prompts.{channel}.next_unknown")]
    upcoming = appointments.next_for(patient, now)
    if upcoming is None:
        return [Say(f"prompts.{channel}.next_none")]
    when = timefmt.spoken_datetime(upcoming.starts_at, upcoming.timezone, language)
    replies = [
        Say(f"prompts.{channel}.next_appointment", {"when": when, "place": upcoming.location})
    ]
    prep = wording.prep_text(upcoming, language)
    if prep:
        replies.append(Say(f"prompts.{channel}.next_prep", {"prep": prep}))
    return replies


def appointment_reply(
    patient: Patient | None, effect: Effect, text: str, now: datetime, channel: str = "sms"
) -> list:
    via = "call" if channel == "voice" else "text"
    answers = reminder_replies.answer_reply(
        patient, effect.detail, text, now, kind=effect.topic, via=via
    )
    return [Say(key, values) for key, values in answers]
