"""Replies to reminders: what a patient who texts C or R gets back, and what coordinators see."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from twiml_helpers import texts_of

from navigator.catalog import catalog
from navigator.channels import reminder_replies as replies
from navigator.extensions import db
from navigator.models import Alert, Appointment, utcnow
from navigator.patients import appointments

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
    answer = replies.answer_reply(patient, "confirm", "C", NOW)
    assert said(patient, answer) == [
        "Hope Clinic Navigator: You have no visit waiting for a reply. Questions? Call (617) 555-0100."
    ]


@pytest.mark.parametrize(("intent", "text"), [("confirm", "C"), ("reschedule", "R")])
def test_a_reply_after_the_visit_was_cancelled_changes_nothing_and_says_it_was_cancelled(
    new_patient, intent, text
):
    patient = new_patient()
    appointment = book(patient, "2026-02-12 14:00")
    appointments.cancel(appointment, now=NOW)
    answer = replies.answer_reply(patient, intent, text, NOW)
    db.session.commit()
    assert said(patient, answer) == [
        (
            "Hope Clinic Navigator: Your visit Thu Feb 12 at 2:00 PM was cancelled, so nothing"
            " has changed. To set up a new one, call (617) 555-0100."
        )
    ]
    assert appointment.status == "cancelled"
    assert db.session.scalars(db.select(Alert)).all() == []


@pytest.mark.parametrize("status", ["cancelled", "done"])
def test_a_keypad_reply_never_revives_a_cancelled_or_finished_visit(new_patient, status):
    appointment = book(new_patient(), "2026-02-12 14:00")
    appointment.status = status
    assert replies.confirm(appointment, "call", NOW) is False
    assert replies.request_new_time(appointment, "call", NOW) is False
    db.session.commit()
    assert appointment.status == status
    assert db.session.scalars(db.select(Alert)).all() == []


def test_a_spanish_speaker_is_asked_which_one_in_spanish(new_patient):
    patient = new_patient(language="es")
    book(patient, "2026-02-12 14:00")
    book(patient, "2026-02-16 09:30")
    [text] = said(patient, replies.answer_reply(patient, "reschedule", "cambiar", NOW))
    assert text.startswith(
        "Hope Clinic Navigator: Tiene más de una cita. ¿Cuál? Responda R1 para el"
    )


# -- through the signed webhook, as Twilio delivers a patient's reply ------------------------

_sids = itertools.count(1)


@pytest.fixture
def text(twilio):
    """Text the navigator from ``patient``'s phone; returns the reply texts."""

    def send(patient, body: str) -> list[str]:
        response = twilio.post(
            "/twilio/sms",
            {
                "MessageSid": f"SM{next(_sids):032d}",
                "From": patient.phone,
                "To": "+12025550100",
                "Body": body,
                "NumMedia": "0",
            },
        )
        assert response.status_code == 200 and response.mimetype == "text/xml"
        return texts_of(response.data)

    return send


def ahead(patient, days: int, kind: str = "ct"):
    """An appointment ``days`` from the real clock (the webhook reads it), with its reminders."""
    now = utcnow()
    start = now.replace(tzinfo=UTC).astimezone(ZoneInfo("America/New_York")) + timedelta(days=days)
    appointment = appointments.schedule(
        patient,
        kind,
        start.replace(hour=14, minute=0, second=0, microsecond=0, tzinfo=None),
        "America/New_York",
        "Mercy Imaging",
        now=now,
    )
    db.session.commit()
    assert any(r.status == "pending" for r in appointment.reminders)
    return appointment


def status_of(appointment) -> str:
    db.session.expire_all()
    return db.session.get(Appointment, appointment.id).status


@pytest.mark.parametrize(
    ("body", "language"),
    [("C", "en"), ("CONFIRM", "en"), ("YES", "en"), ("SI", "es"), ("SÍ", "es"), ("sí", "es")],
)
def test_a_confirm_word_texted_back_confirms_the_visit(new_patient, text, body, language):
    patient = new_patient(language=language)
    appointment = ahead(patient, 10)
    [reply] = text(patient, body)
    expected = {"en": "is confirmed. See you then.", "es": "está confirmada. Le esperamos."}
    assert reply.startswith("Hope Clinic Navigator: ") and reply.endswith(expected[language])
    assert status_of(appointment) == "confirmed"


@pytest.mark.parametrize(
    ("body", "language"), [("R", "en"), ("RESCHEDULE", "en"), ("CAMBIAR", "es"), ("r", "es")]
)
def test_a_new_time_word_texted_back_alerts_the_coordinators(new_patient, text, body, language):
    patient = new_patient(language=language)
    appointment = ahead(patient, 10)
    [reply] = text(patient, body)
    expected = {"en": "A nurse navigator will call you", "es": "Una enfermera le llamará"}
    assert expected[language] in reply
    assert status_of(appointment) == "reschedule_requested"
    [alert] = db.session.scalars(db.select(Alert))
    assert (alert.kind, alert.appointment_id) == ("reschedule", appointment.id)


def test_with_two_visits_pending_a_texted_c_asks_which_and_c2_confirms_the_second(
    new_patient, text
):
    patient = new_patient()
    first, second = ahead(patient, 5), ahead(patient, 9, kind="biopsy")
    [question] = text(patient, "C")
    assert question.startswith(
        "Hope Clinic Navigator: You have more than one visit. Which one? Reply C1 for "
    )
    assert "; C2 for " in question
    assert (status_of(first), status_of(second)) == ("scheduled", "scheduled")
    [thanks] = text(patient, "C2")
    assert "is confirmed" in thanks
    assert (status_of(first), status_of(second)) == ("scheduled", "confirmed")


def test_a_reply_that_also_names_a_warning_sign_gets_the_safety_advice_first(
    new_patient, text, app
):
    patient = new_patient()
    appointment = ahead(patient, 10)
    replies_sent = text(patient, "C but I have chest pain")
    assert replies_sent[0] == app.extensions["content"].render(
        "redflags.breathing_chest.text", "en"
    )
    [alert] = db.session.scalars(db.select(Alert))
    assert alert.kind == "red_flag"
    assert status_of(appointment) == "scheduled"


def test_a_texted_c_after_the_visit_was_cancelled_keeps_it_cancelled(new_patient, text):
    patient = new_patient()
    appointment = ahead(patient, 10)
    appointments.cancel(appointment)
    db.session.commit()
    [reply] = text(patient, "C")
    assert "was cancelled, so nothing has changed" in reply and "(617) 555-0100" in reply
    assert status_of(appointment) == "cancelled"
