"""Voice reminders: what a patient who prefers calls hears, presses, and gets when they miss it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
from twilio_signing import TwilioSigner

from navigator import appointments, reminders
from navigator.extensions import db
from navigator.models import Alert, Message, Reminder

PUBLIC = "https://navigator.example.org"
SENT_AT = datetime(2026, 2, 9, 19, 0)  # 14:00 in New York, three days before


@pytest.fixture
def signed(client, fake_twilio):
    return TwilioSigner(client, base_url=PUBLIC)


def called(new_patient, fake_twilio, at=SENT_AT, **fields):
    """A voice patient, an appointment, and the reminder call the worker placed."""
    patient = new_patient(channel="voice", **fields)
    appointments.schedule(
        patient,
        "ct",
        datetime(2026, 2, 12, 14, 0),
        "America/New_York",
        "Mercy Imaging",
        now=datetime(2026, 2, 1),
    )
    db.session.commit()
    reminders.send_due(at, "w")
    reminder = db.session.scalar(db.select(Reminder).where(Reminder.status == "sent"))
    return patient, reminder


def twiml(response) -> ET.Element:
    assert response.status_code == 200 and response.mimetype == "text/xml"
    return ET.fromstring(response.data)


def spoken(root: ET.Element) -> str:
    return " ".join(p.text for p in root.iter("prosody"))


def test_a_patient_who_prefers_calls_gets_a_call_not_a_text(new_patient, fake_twilio):
    _, reminder = called(new_patient, fake_twilio)
    [call] = fake_twilio.accepted()
    assert call.kind == "call" and fake_twilio.accepted("sms") == []
    assert call.url == f"{PUBLIC}/twilio/reminder-call/{reminder.id}"
    assert call.status_callback == f"{PUBLIC}/twilio/reminder-call/status"
    assert reminder.provider_sid == call.sid


def test_the_call_reads_the_reminder_slowly_and_offers_the_keypad(new_patient, fake_twilio, signed):
    patient, reminder = called(new_patient, fake_twilio)
    root = twiml(signed.post(f"/twilio/reminder-call/{reminder.id}", {"To": patient.phone}))
    gather = root.find("Gather")
    assert gather.get("numDigits") == "1"
    assert gather.get("action") == f"/twilio/reminder-call/{reminder.id}/answer"
    say = gather.find("Say")
    assert (say.get("voice"), say.get("language")) == ("Polly.Joanna", "en-US")
    assert say.find("prosody").get("rate") == "90%"
    words = spoken(gather)
    assert "You have a visit on Thu Feb 12, at 2:00 PM, at Mercy Imaging." in words
    assert "To confirm, press 1. To ask for a new time, press 2." in words
    assert "CT" not in words  # no test name unless the patient chose detailed messages


def test_a_spanish_speaker_hears_the_reminder_in_spanish(new_patient, fake_twilio, signed):
    patient, reminder = called(new_patient, fake_twilio, language="es")
    root = twiml(signed.post(f"/twilio/reminder-call/{reminder.id}", {"To": patient.phone}))
    say = root.find("Gather/Say")
    assert (say.get("voice"), say.get("language")) == ("Polly.Lupe", "es-US")
    assert "Tiene una cita el" in spoken(root)


def test_the_day_before_call_also_says_how_to_get_ready(new_patient, fake_twilio, signed):
    patient, reminder = called(new_patient, fake_twilio, at=datetime(2026, 2, 11, 19, 5))
    root = twiml(signed.post(f"/twilio/reminder-call/{reminder.id}", {"To": patient.phone}))
    assert "To get ready: Tell the team if you ever had a bad reaction to dye" in spoken(root)


def test_pressing_1_confirms_the_appointment(new_patient, fake_twilio, signed):
    patient, reminder = called(new_patient, fake_twilio)
    root = twiml(
        signed.post(
            f"/twilio/reminder-call/{reminder.id}/answer", {"To": patient.phone, "Digits": "1"}
        )
    )
    assert "Your visit is confirmed" in spoken(root) and root.find("Hangup") is not None
    assert reminder.appointment.status == "confirmed"


def test_pressing_2_asks_for_a_new_time_and_alerts_a_coordinator(new_patient, fake_twilio, signed):
    patient, reminder = called(new_patient, fake_twilio)
    root = twiml(
        signed.post(
            f"/twilio/reminder-call/{reminder.id}/answer", {"To": patient.phone, "Digits": "2"}
        )
    )
    assert "A nurse navigator will call you" in spoken(root)
    [alert] = db.session.scalars(db.select(Alert))
    assert (alert.kind, alert.appointment_id) == ("reschedule", reminder.appointment_id)


def test_pressing_9_or_anything_else_plays_it_again(new_patient, fake_twilio, signed):
    patient, reminder = called(new_patient, fake_twilio)
    for digit in ("9", "5"):
        root = twiml(
            signed.post(
                f"/twilio/reminder-call/{reminder.id}/answer",
                {"To": patient.phone, "Digits": digit},
            )
        )
        assert root.find("Redirect").text == f"/twilio/reminder-call/{reminder.id}"


def test_silence_repeats_the_reminder_once_then_says_goodbye(new_patient, fake_twilio, signed):
    patient, reminder = called(new_patient, fake_twilio)
    first = twiml(signed.post(f"/twilio/reminder-call/{reminder.id}", {"To": patient.phone}))
    assert first.find("Redirect").text == f"/twilio/reminder-call/{reminder.id}?tries=1"
    last = twiml(
        signed.post(
            f"/twilio/reminder-call/{reminder.id}", {"To": patient.phone}, query={"tries": "2"}
        )
    )
    assert last.find("Gather") is None and last.find("Hangup") is not None
    assert "call (617) 555-0100" in spoken(last)


def test_a_call_that_is_not_to_the_reminders_patient_hears_nothing_private(
    new_patient, fake_twilio, signed
):
    _, reminder = called(new_patient, fake_twilio)
    root = twiml(signed.post(f"/twilio/reminder-call/{reminder.id}", {"To": "+16175550111"}))
    assert "Mercy Imaging" not in spoken(root) and root.find("Hangup") is not None


def test_an_unsigned_request_is_refused(new_patient, fake_twilio, client):
    patient, reminder = called(new_patient, fake_twilio)
    assert (
        client.post(f"/twilio/reminder-call/{reminder.id}", data={"To": patient.phone}).status_code
        == 403
    )


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed"])
def test_a_missed_call_is_followed_by_the_same_reminder_as_a_text(
    new_patient, fake_twilio, signed, status
):
    patient, reminder = called(new_patient, fake_twilio)
    for _ in range(2):  # Twilio may repeat a callback
        signed.post(
            "/twilio/reminder-call/status", {"CallSid": reminder.provider_sid, "CallStatus": status}
        )
    assert reminders.send_due(SENT_AT.replace(minute=5), "w") == {"sent": 1}
    [text] = fake_twilio.accepted("sms")
    assert text.to == patient.phone
    assert text.body.startswith("Hope Clinic Navigator: Visit Thu Feb 12 at 2:00 PM")
    db.session.expire_all()
    assert db.session.get(Reminder, reminder.id).status == "undelivered"


def test_an_answered_call_is_delivered_and_no_text_follows(new_patient, fake_twilio, signed):
    _, reminder = called(new_patient, fake_twilio)
    signed.post(
        "/twilio/reminder-call/status",
        {"CallSid": reminder.provider_sid, "CallStatus": "completed"},
    )
    signed.post(
        "/twilio/reminder-call/status", {"CallSid": reminder.provider_sid, "CallStatus": "ringing"}
    )  # late, out of order
    assert reminders.send_due(SENT_AT.replace(minute=5), "w") == {}
    db.session.expire_all()
    assert db.session.get(Reminder, reminder.id).status == "delivered"
    call = db.session.scalar(db.select(Message).filter_by(provider_sid=reminder.provider_sid))
    assert call.status == "completed"


def test_a_missed_day_before_call_is_followed_by_the_reminder_and_how_to_get_ready(
    new_patient, fake_twilio, signed
):
    day_before = datetime(2026, 2, 11, 19, 5)
    patient, reminder = called(new_patient, fake_twilio, at=day_before)
    signed.post(
        "/twilio/reminder-call/status",
        {"CallSid": reminder.provider_sid, "CallStatus": "no-answer"},
    )
    assert reminders.send_due(day_before.replace(minute=10), "w") == {"sent": 2}
    texts = fake_twilio.accepted("sms")
    assert {text.to for text in texts} == {patient.phone}
    assert sum(t.body.startswith("Hope Clinic Navigator: Visit Thu Feb 12") for t in texts) == 1
    assert sum("bad reaction to dye" in t.body for t in texts) == 1


def test_a_call_for_an_appointment_booked_too_late_for_the_day_before_says_how_to_get_ready(
    new_patient, fake_twilio, signed
):
    patient = new_patient(channel="voice")
    booked = datetime(2026, 2, 12, 17, 30)  # 12:30 in New York, the scan is at 14:00
    appointments.schedule(
        patient, "ct", datetime(2026, 2, 12, 14, 0), "America/New_York", "Mercy Imaging", now=booked
    )
    db.session.commit()
    reminders.send_due(booked, "w")
    reminder = db.session.scalar(db.select(Reminder).where(Reminder.status == "sent"))
    root = twiml(signed.post(f"/twilio/reminder-call/{reminder.id}", {"To": patient.phone}))
    assert "To get ready: Tell the team if you ever had a bad reaction to dye" in spoken(root)


def test_the_two_hour_call_does_not_repeat_the_preparation(new_patient, fake_twilio, signed):
    patient, _ = called(new_patient, fake_twilio, at=datetime(2026, 2, 11, 19, 5))  # day before
    reminders.send_due(datetime(2026, 2, 12, 17, 5), "w")  # two hours before
    last = db.session.scalar(db.select(Reminder).where(Reminder.offset == "2h"))
    assert last.status == "sent"
    root = twiml(signed.post(f"/twilio/reminder-call/{last.id}", {"To": patient.phone}))
    assert "To get ready" not in spoken(root)
