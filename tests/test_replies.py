"""Replies to reminders: what a patient who texts C or R gets back, and what coordinators see."""

from __future__ import annotations

from datetime import datetime

import pytest

from navigator import appointments, replies
from navigator.content import catalog
from navigator.extensions import db
from navigator.models import Alert

NOW = datetime(2026, 2, 1, 15, 0)


def book(patient, at: str, kind: str = "ct"):
    appointment = appointments.schedule(
        patient, kind, datetime.fromisoformat(at), "America/New_York", "Mercy Imaging", now=NOW
    )
    db.session.commit()
    return appointment


def said(patient, answer) -> list[str]:
    return [catalog().render(key, patient.language, **values) for key, values in answer]


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("C", ("confirm", None)),
        ("c", ("confirm", None)),
        ("Confirm", ("confirm", None)),
        ("yes!", ("confirm", None)),
        ("SI", ("confirm", None)),
        ("sí", ("confirm", None)),
        ("R", ("reschedule", None)),
        ("reschedule", ("reschedule", None)),
        ("Cambiar", ("reschedule", None)),
        ("C2", ("confirm", 2)),
        ("r 1", ("reschedule", 1)),
        ("confirm 2.", ("confirm", 2)),
    ],
)
def test_reply_words_are_recognised_in_either_language_and_with_a_number(app, text, parsed):
    assert replies.parse_reply(text) == parsed


@pytest.mark.parametrize("text", ["hello", "CT", "12", "", "stop"])
def test_other_texts_are_not_reminder_replies(app, text):
    assert replies.parse_reply(text) is None


def test_confirming_the_only_appointment_confirms_it_and_thanks_the_patient(new_patient):
    patient = new_patient()
    appointment = book(patient, "2026-02-12 14:00")
    answer = replies.answer_reply(patient, "confirm", "C", NOW)
    assert appointment.status == "confirmed"
    assert said(patient, answer) == [
        "Hope Clinic Navigator: Thanks, your visit Thu Feb 12 at 2:00 PM is confirmed. See you then."
    ]


def test_asking_for_a_new_time_alerts_the_coordinators(new_patient):
    patient = new_patient()
    appointment = book(patient, "2026-02-12 14:00")
    answer = replies.answer_reply(patient, "reschedule", "R", NOW)
    db.session.commit()
    assert appointment.status == "reschedule_requested"
    [alert] = db.session.scalars(db.select(Alert))
    assert (alert.kind, alert.appointment_id, alert.patient_id) == (
        "reschedule",
        appointment.id,
        patient.id,
    )
    assert "nurse navigator will call you" in said(patient, answer)[0]


def test_asking_twice_for_a_new_time_raises_one_alert(new_patient):
    patient = new_patient()
    book(patient, "2026-02-12 14:00")
    replies.answer_reply(patient, "reschedule", "R", NOW)
    replies.answer_reply(patient, "reschedule", "R", NOW)
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count(Alert.id))) == 1


def test_with_two_appointments_waiting_the_patient_is_asked_which_one(new_patient):
    patient = new_patient()
    first = book(patient, "2026-02-12 14:00")
    second = book(patient, "2026-02-16 09:30", kind="biopsy")
    answer = replies.answer_reply(patient, "confirm", "C", NOW)
    assert said(patient, answer) == [
        (
            "Hope Clinic Navigator: You have more than one visit. Which one? Reply C1 for Thu Feb 12"
            " at 2:00 PM; C2 for Mon Feb 16 at 9:30 AM."
        )
    ]
    assert (first.status, second.status) == ("scheduled", "scheduled")

    replies.answer_reply(patient, "confirm", "C2", NOW)
    assert (first.status, second.status) == ("scheduled", "confirmed")


def test_when_one_of_two_is_already_confirmed_a_plain_c_confirms_the_other(new_patient):
    patient = new_patient()
    first = book(patient, "2026-02-12 14:00")
    second = book(patient, "2026-02-16 09:30")
    replies.answer_reply(patient, "confirm", "C1", NOW)
    replies.answer_reply(patient, "confirm", "C", NOW)
    assert (first.status, second.status) == ("confirmed", "confirmed")


def test_a_number_that_matches_no_appointment_asks_again(new_patient):
    patient = new_patient()
    book(patient, "2026-02-12 14:00")
    [(key, _)] = replies.answer_reply(patient, "reschedule", "R7", NOW)
    assert key == "reminders.replies.which_one"


def test_with_nothing_ahead_the_patient_is_told_so_and_given_the_number(new_patient):
    patient = new_patient()
    appointment = book(patient, "2026-02-12 14:00")
    appointments.cancel(appointment, now=NOW)
    answer = replies.answer_reply(patient, "confirm", "C", NOW)
    assert said(patient, answer) == [
        "Hope Clinic Navigator: You have no visit waiting for a reply. Questions? Call (617) 555-0100."
    ]


def test_a_spanish_speaker_is_asked_which_one_in_spanish(new_patient):
    patient = new_patient(language="es")
    book(patient, "2026-02-12 14:00")
    book(patient, "2026-02-16 09:30")
    [text] = said(patient, replies.answer_reply(patient, "reschedule", "cambiar", NOW))
    assert text.startswith(
        "Hope Clinic Navigator: Tiene más de una cita. ¿Cuál? Responda R1 para el"
    )
