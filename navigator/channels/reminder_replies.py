"""Replies to reminders: C to confirm, R for a new time, by text or by keypad.

The SMS engine screens every text for red flags first, then asks ``parse_reply`` whether the
text is a reminder reply, and calls ``answer_reply``; it sends back the content keys returned.
A reminder call's keypad (1 or 2) comes through ``confirm`` and ``request_new_time``.

When more than one appointment could be meant, the answer asks which one, numbering the
patient's upcoming appointments soonest first (C1, C2... or R1, R2...); a reply with a
number picks from that same list. A reply never changes an appointment that is cancelled
or done (a reminder sent before a cancellation can still be answered): the patient is told
that visit was cancelled, and the number to call. Nothing here commits: the caller's
transaction does.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from .. import alerts, timefmt
from ..catalog import catalog, site_values
from ..extensions import db
from ..models import ACTIVE, Appointment, Patient, utcnow
from ..patient_events import record as record_event
from ..patients.appointments import upcoming

#: Used when messages/keywords.yaml names no reply words (older content trees).
FALLBACK_WORDS = {
    "confirm": ("C", "CONFIRM", "YES", "SI"),
    "reschedule": ("R", "RESCHEDULE", "CAMBIAR"),
}
INTENT_LETTER = {"confirm": "C", "reschedule": "R"}


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    ascii_text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", ascii_text.strip(" .!?,;").upper())


def _words(intent: str) -> set[str]:
    try:
        words = catalog().keywords.get(intent) or FALLBACK_WORDS[intent]
    except RuntimeError:  # outside an app: the built-in words
        words = FALLBACK_WORDS[intent]
    return {_plain(str(word)) for word in words}


def parse_reply(text: str) -> tuple[str, int | None] | None:
    """('confirm' | 'reschedule', number or None) when ``text`` is a reminder reply, else None.

    Accepts the words in messages/keywords.yaml (C, CONFIRM, YES, SI/SÍ; R, RESCHEDULE,
    CAMBIAR...), any case, with or without accents, optionally followed by a number: "c2",
    "R 1", "Confirm 2".
    """
    plain = _plain(text)
    match = re.fullmatch(r"(.*?)\s*(\d{1,2})?", plain)
    if not match:
        return None
    word, number = match.group(1), match.group(2)
    for intent in ("confirm", "reschedule"):
        if word in _words(intent):
            return intent, int(number) if number else None
    return None


def _values(patient: Patient, appointment: Appointment | None = None) -> dict:
    values = site_values()
    if appointment is not None:
        values.update(
            timefmt.date_and_time(appointment.starts_at, appointment.timezone, patient.language)
        )
    return values


def closed(appointment: Appointment) -> str | None:
    """Why a reply can no longer change ``appointment``: "cancelled", "over" (done), or None
    while it is open. A late C or R must not bring a cancelled visit back."""
    if appointment.status == "cancelled":
        return "cancelled"
    return None if appointment.status in ACTIVE else "over"


def confirm(appointment: Appointment, via: str = "call", now: datetime | None = None) -> bool:
    """The patient confirmed (by a reminder call's keypad unless ``via`` says "text"): the
    appointment is ``confirmed``, and the timeline keeps it even if the status moves on.

    Returns False, changing nothing, when the appointment is ``closed``.
    """
    if closed(appointment):
        return False
    if appointment.status != "confirmed":
        _event("confirmed", appointment, via, now)
    appointment.status = "confirmed"
    db.session.flush()
    return True


def request_new_time(appointment: Appointment, via: str, now: datetime | None = None) -> bool:
    """The patient asked for a new time: record it and alert the coordinators (once).

    Returns False, changing nothing, when the appointment is ``closed``.
    """
    if closed(appointment):
        return False
    if appointment.status == "reschedule_requested":
        return True
    appointment.status = "reschedule_requested"
    _event("reschedule_requested", appointment, via, now)
    patient = appointment.patient
    alerts.raise_alert(
        "reschedule",
        patient.phone,
        patient,
        appointment=appointment,
        detail=f"new time asked by {via}",
    )
    db.session.flush()
    return True


def _event(kind: str, appointment: Appointment, via: str, now: datetime | None) -> None:
    patient = appointment.patient
    record_event(
        kind,
        patient.phone,
        patient_id=patient.id,
        appointment_id=appointment.id,
        channel=via,
        at=now or utcnow(),
    )


def answer_reply(
    patient: Patient,
    intent: str,
    text: str,
    now: datetime,
    kind: str | None = None,
    via: str = "text",
) -> list[tuple[str, dict]]:
    """Act on a confirm or reschedule reply; returns (content key, values) to send back.

    ``text`` is what the patient sent; a number in it ("C2") picks an appointment from the
    list the which-one question showed. ``kind`` (the test their own words named: "can't
    make my biopsy") narrows the choice to those appointments when there are any. The
    caller commits.
    """
    if intent not in INTENT_LETTER:
        raise ValueError(f"unknown reply intent {intent!r}")
    parsed = parse_reply(text)
    number = parsed[1] if parsed and parsed[0] == intent else None
    choices = upcoming(patient, now)
    if kind and number is None:
        choices = [a for a in choices if a.kind == kind] or choices
    if not choices:
        cancelled = _cancelled_ahead(patient, now)
        if cancelled is not None:  # a reply to a reminder sent before the visit was cancelled
            return [("reminders.replies.cancelled", _values(patient, cancelled))]
        return [("reminders.replies.none", _values(patient))]
    if number is not None and 1 <= number <= len(choices):
        target = choices[number - 1]
    else:
        waiting = [
            a
            for a in choices
            if a.status != ("confirmed" if intent == "confirm" else "reschedule_requested")
        ]
        targets = waiting or choices
        if number is not None or len(targets) != 1:
            return [_which_one(patient, intent, choices)]
        target = targets[0]
    if intent == "confirm":
        confirm(target, via, now)
        return [("reminders.replies.confirmed", _values(patient, target))]
    request_new_time(target, via, now)
    return [("reminders.replies.reschedule", _values(patient, target))]


def _cancelled_ahead(patient: Patient, now: datetime) -> Appointment | None:
    """The patient's soonest cancelled appointment whose time has not come."""
    return db.session.scalar(
        db.select(Appointment)
        .where(
            Appointment.patient_id == patient.id,
            Appointment.status == "cancelled",
            Appointment.starts_at > now,
        )
        .order_by(Appointment.starts_at, Appointment.id)
        .limit(1)
    )


def _which_one(patient: Patient, intent: str, choices: list[Appointment]) -> tuple[str, dict]:
    text = catalog()
    language = patient.language
    parts = [
        text.render(
            "reminders.replies.choice",
            language,
            code=f"{INTENT_LETTER[intent]}{index}",
            **timefmt.date_and_time(appointment.starts_at, appointment.timezone, language),
        )
        for index, appointment in enumerate(choices, start=1)
    ]
    return ("reminders.replies.which_one", {**_values(patient), "choices": "; ".join(parts)})
