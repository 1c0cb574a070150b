"""Voice reminders: what a patient who prefers calls hears, presses, and gets when they miss it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
from reminder_support import book_ct_and_tick
from twilio_signing import TwilioSigner

from navigator.extensions import db
from navigator.models import Alert, Contact, Message, PatientEvent, Reminder
from navigator.patients import appointments
from navigator.reminders import worker

PUBLIC = "https://navigator.example.org"
SENT_AT = datetime(2026, 2, 9, 19, 0)  # 14:00 in New York, three days before


@pytest.fixture
def signed(client, fake_twilio):
    return TwilioSigner(client, base_url=PUBLIC)


def called(new_patient, fake_twilio, at=SENT_AT, **fields):
    """A voice patient, an appointment, and the reminder call the worker placed."""
    patient = new_patient(channel="voice", **fields)
    book_ct_and_tick(patient, at)
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
    patient, reminder = called(
        new_patient, fake_twilio, at=datetime(2026, 2, 11, 19, 5), detailed_texts=True
    )
    root = twiml(signed.post(f"/twilio/reminder-call/{reminder.id}", {"To": patient.phone}))
    assert "To get ready: Tell the team if you ever had a bad reaction to dye" in spoken(root)


def test_the_day_before_call_tells_others_only_how_to_ask_for_the_prep(
    new_patient, fake_twilio, signed
):
    """Whoever picks up hears neither the test nor how to get ready for it."""
    patient, reminder = called(new_patient, fake_twilio, at=datetime(2026, 2, 11, 19, 5))
    root = twiml(signed.post(f"/twilio/reminder-call/{reminder.id}", {"To": patient.phone}))
    said = spoken(root)
    assert "text NEXT to this number" in said
    assert "dye" not in said and "CT" not in said


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


def press(signed, patient, reminder, digit: str, miss: int = 0) -> ET.Element:
    return twiml(
        signed.post(
            f"/twilio/reminder-call/{reminder.id}/answer",
            {"To": patient.phone, "Digits": digit},
            query={"miss": str(miss)},
        )
    )


def test_the_keypad_waits_ten_seconds_and_offers_a_person(new_patient, fake_twilio, signed):
    patient, reminder = called(new_patient, fake_twilio)
    root = twiml(signed.post(f"/twilio/reminder-call/{reminder.id}", {"To": patient.phone}))
    assert int(root.find("Gather").get("timeout")) >= 10
    assert "To talk to a person, press 0." in spoken(root.find("Gather"))


def test_pressing_9_plays_it_again(new_patient, fake_twilio, signed):
    patient, reminder = called(new_patient, fake_twilio)
    root = press(signed, patient, reminder, "9")
    assert "You have a visit on Thu Feb 12" in spoken(root.find("Gather"))


def test_a_wrong_key_says_so_and_reads_it_again_then_a_second_connects_to_a_person(
    new_patient, fake_twilio, signed
):
    patient, reminder = called(new_patient, fake_twilio)
    first = press(signed, patient, reminder, "5")
    assert spoken(first).startswith("Sorry, that is not one of the choices.")
    again = first.find("Gather").get("action")
    assert again == f"/twilio/reminder-call/{reminder.id}/answer?miss=1"
    second = press(signed, patient, reminder, "5", miss=1)
    assert second.find("Dial").text == "+16175550100"
    assert second.find("Hangup") is None
    assert reminder.appointment.status == "scheduled"


def test_zero_connects_to_the_care_team_from_the_reminder(new_patient, fake_twilio, signed):
    patient, reminder = called(new_patient, fake_twilio)
    root = press(signed, patient, reminder, "0")
    assert "connecting you to a person" in spoken(root)
    dial = root.find("Dial")
    assert dial.text == "+16175550100"
    assert dial.get("action") == f"/twilio/reminder-call/{reminder.id}/after-dial"


def test_without_a_care_team_line_zero_takes_a_message_that_becomes_an_alert(
    new_patient, fake_twilio, signed, app
):
    app.config["CARE_TEAM_PHONE"] = ""
    patient, reminder = called(new_patient, fake_twilio)
    root = press(signed, patient, reminder, "0")
    record = root.find("Record")
    assert record.get("action") == f"/twilio/reminder-call/{reminder.id}/recorded"
    assert "After the tone, say your name" in spoken(root)
    thanks = twiml(
        signed.post(
            f"/twilio/reminder-call/{reminder.id}/recorded",
            {"To": patient.phone, "RecordingUrl": "https://api.twilio.com/recordings/RE1"},
        )
    )
    assert "We got your message" in spoken(thanks)
    [alert] = db.session.scalars(db.select(Alert))
    assert (alert.kind, alert.phone, alert.patient_id, alert.appointment_id) == (
        "voicemail",
        patient.phone,
        patient.id,
        reminder.appointment_id,
    )


def test_when_nobody_at_the_care_team_answers_the_patient_can_leave_a_message(
    new_patient, fake_twilio, signed
):
    patient, reminder = called(new_patient, fake_twilio)
    root = twiml(
        signed.post(
            f"/twilio/reminder-call/{reminder.id}/after-dial",
            {"To": patient.phone, "DialCallStatus": "no-answer"},
        )
    )
    assert root.find("Record").get("action") == f"/twilio/reminder-call/{reminder.id}/recorded"


def test_silence_reads_it_once_more_then_ends_politely_and_texts_the_reminder(
    new_patient, fake_twilio, signed
):
    patient, reminder = called(new_patient, fake_twilio)
    first = twiml(signed.post(f"/twilio/reminder-call/{reminder.id}", {"To": patient.phone}))
    assert first.find("Redirect").text == f"/twilio/reminder-call/{reminder.id}?miss=1"
    second = twiml(
        signed.post(
            f"/twilio/reminder-call/{reminder.id}", {"To": patient.phone}, query={"miss": 1}
        )
    )
    assert second.find("Redirect").text == f"/twilio/reminder-call/{reminder.id}?miss=2"
    last = twiml(
        signed.post(
            f"/twilio/reminder-call/{reminder.id}", {"To": patient.phone}, query={"miss": 2}
        )
    )
    assert last.find("Gather") is None and last.find("Hangup") is not None
    assert "send you this reminder by text" in spoken(last)
    assert "call (617) 555-0100" in spoken(last)
    signed.post(  # the call itself completed: that changes nothing more
        "/twilio/reminder-call/status",
        {"CallSid": reminder.provider_sid, "CallStatus": "completed"},
    )
    assert worker.send_due(SENT_AT.replace(minute=5), "w") == {"sent": 1}
    [text] = fake_twilio.accepted("sms")
    assert text.to == patient.phone
    assert text.body.startswith("Hope Clinic Navigator: Visit Thu Feb 12 at 2:00 PM")


def test_silence_twice_from_a_number_that_opted_out_of_texts_promises_no_text(
    new_patient, fake_twilio, signed
):
    patient, reminder = called(new_patient, fake_twilio)
    contact = db.session.scalar(db.select(Contact).filter_by(phone=patient.phone))
    contact.opted_out_at = SENT_AT
    db.session.commit()
    last = twiml(
        signed.post(
            f"/twilio/reminder-call/{reminder.id}", {"To": patient.phone}, query={"miss": 2}
        )
    )
    assert "by text" not in spoken(last) and last.find("Hangup") is not None
    assert worker.send_due(SENT_AT.replace(minute=5), "w") == {}


@pytest.mark.parametrize("digit", ["1", "2"])
def test_a_key_pressed_for_a_cancelled_visit_changes_nothing_and_says_so(
    new_patient, fake_twilio, signed, digit
):
    patient, reminder = called(new_patient, fake_twilio)
    appointments.cancel(reminder.appointment, now=SENT_AT)
    db.session.commit()
    root = press(signed, patient, reminder, digit)
    words = spoken(root)
    assert "This visit was cancelled" in words and "call (617) 555-0100" in words
    assert "press 0" in words and root.find("Gather").get("timeout") == "10"
    db.session.expire_all()
    assert db.session.get(Reminder, reminder.id).appointment.status == "cancelled"
    assert db.session.scalars(db.select(Alert)).all() == []


def test_a_finished_visit_is_not_confirmed_again(new_patient, fake_twilio, signed):
    patient, reminder = called(new_patient, fake_twilio)
    reminder.appointment.status = "done"
    db.session.commit()
    root = press(signed, patient, reminder, "1")
    assert "The time for this visit has passed" in spoken(root)
    db.session.expire_all()
    assert db.session.get(Reminder, reminder.id).appointment.status == "done"


def test_a_call_answered_after_the_visit_was_cancelled_does_not_read_the_old_time(
    new_patient, fake_twilio, signed
):
    patient, reminder = called(new_patient, fake_twilio)
    appointments.cancel(reminder.appointment, now=SENT_AT)
    db.session.commit()
    root = twiml(signed.post(f"/twilio/reminder-call/{reminder.id}", {"To": patient.phone}))
    assert "This visit was cancelled" in spoken(root) and "2:00 PM" not in spoken(root)


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
    assert worker.send_due(SENT_AT.replace(minute=5), "w") == {"sent": 1}
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
    assert worker.send_due(SENT_AT.replace(minute=5), "w") == {}
    db.session.expire_all()
    assert db.session.get(Reminder, reminder.id).status == "delivered"
    call = db.session.scalar(db.select(Message).filter_by(provider_sid=reminder.provider_sid))
    assert call.status == "completed"


def test_a_missed_day_before_call_is_followed_by_the_reminder_and_how_to_get_ready(
    new_patient, fake_twilio, signed
):
    day_before = datetime(2026, 2, 11, 19, 5)
    patient, reminder = called(new_patient, fake_twilio, at=day_before, detailed_texts=True)
    signed.post(
        "/twilio/reminder-call/status",
        {"CallSid": reminder.provider_sid, "CallStatus": "no-answer"},
    )
    assert worker.send_due(day_before.replace(minute=10), "w") == {"sent": 2}
    texts = fake_twilio.accepted("sms")
    assert {text.to for text in texts} == {patient.phone}
    assert sum(t.body.startswith("Hope Clinic Navigator: CT scan Thu Feb 12") for t in texts) == 1
    assert sum("bad reaction to dye" in t.body for t in texts) == 1


def test_a_call_for_an_appointment_booked_too_late_for_the_day_before_says_how_to_get_ready(
    new_patient, fake_twilio, signed
):
    patient = new_patient(channel="voice", detailed_texts=True)
    booked = datetime(2026, 2, 12, 17, 30)  # 12:30 in New York, the scan is at 14:00
    appointments.schedule(
        patient, "ct", datetime(2026, 2, 12, 14, 0), "America/New_York", "Mercy Imaging", now=booked
    )
    db.session.commit()
    worker.send_due(booked, "w")
    reminder = db.session.scalar(db.select(Reminder).where(Reminder.status == "sent"))
    root = twiml(signed.post(f"/twilio/reminder-call/{reminder.id}", {"To": patient.phone}))
    assert "To get ready: Tell the team if you ever had a bad reaction to dye" in spoken(root)


def test_the_two_hour_call_does_not_repeat_the_preparation(new_patient, fake_twilio, signed):
    day_before = datetime(2026, 2, 11, 19, 5)
    patient, _ = called(new_patient, fake_twilio, at=day_before, detailed_texts=True)
    worker.send_due(datetime(2026, 2, 12, 17, 5), "w")  # two hours before
    last = db.session.scalar(db.select(Reminder).where(Reminder.offset == "2h"))
    assert last.status == "sent"
    root = twiml(signed.post(f"/twilio/reminder-call/{last.id}", {"To": patient.phone}))
    assert "To get ready" not in spoken(root)


def test_a_patient_who_said_stop_calling_me_on_the_phone_gets_no_reminder_call(
    new_patient, fake_twilio, signed
):
    patient = new_patient(channel="voice")
    heard = twiml(
        signed.post(
            "/twilio/voice/language",
            {"CallSid": "CA" + "1" * 32, "From": patient.phone, "SpeechResult": "Stop calling me"},
        )
    )
    assert heard.find("Hangup") is not None
    book_ct_and_tick(patient, SENT_AT)
    assert fake_twilio.accepted() == []
    three_days_before = db.session.scalar(db.select(Reminder).filter_by(offset="3d"))
    assert three_days_before.status == "skipped"


def said_on_the_call(signed, patient, reminder, speech, miss=0):
    return twiml(
        signed.post(
            f"/twilio/reminder-call/{reminder.id}/answer",
            {"To": patient.phone, "SpeechResult": speech, "Confidence": "0.9"},
            query={"miss": miss} if miss else None,
        )
    )


def test_the_reminder_call_also_listens_for_words(new_patient, fake_twilio, signed):
    patient, reminder = called(new_patient, fake_twilio, language="es")
    root = twiml(signed.post(f"/twilio/reminder-call/{reminder.id}", {"To": patient.phone}))
    gather = root.find("Gather")
    assert (gather.get("input"), gather.get("language")) == ("dtmf speech", "es-US")


@pytest.mark.parametrize(
    ("language", "speech", "confirmation"),
    [
        ("en", "Stop calling me.", "You will get no more calls or texts"),
        ("es", "Ya no me llamen, por favor.", "Ya no recibirá más llamadas ni mensajes"),
    ],
)
def test_saying_stop_calling_me_on_a_reminder_call_opts_out_and_ends_the_call(
    new_patient, fake_twilio, signed, language, speech, confirmation
):
    patient, reminder = called(new_patient, fake_twilio, language=language)
    root = said_on_the_call(signed, patient, reminder, speech)
    assert spoken(root).startswith(confirmation)
    assert "START" in spoken(root) and root.find("Hangup") is not None
    assert db.session.scalar(db.select(Contact).filter_by(phone=patient.phone)).opted_out
    event = db.session.scalar(db.select(PatientEvent))
    assert (event.kind, event.patient_id, event.channel) == ("opted_out", patient.id, "voice")
    worker.send_due(datetime(2026, 2, 11, 19, 5), "w")  # the day-before reminder
    assert len(fake_twilio.accepted()) == 1  # only the call that was answered
    day_before = db.session.scalar(db.select(Reminder).filter_by(offset="1d"))
    assert day_before.status == "skipped"


def test_a_warning_sign_on_a_reminder_call_comes_before_stop_calling(
    app, new_patient, fake_twilio, signed
):
    patient, reminder = called(new_patient, fake_twilio)
    root = said_on_the_call(signed, patient, reminder, "I can't breathe, stop calling")
    advice = app.extensions["content"].render("redflags.breathing_chest.say", "en")
    assert spoken(root).startswith(advice)
    assert root.find("Dial") is None and root.find("Hangup") is not None  # told to call 911
    alert = db.session.scalar(db.select(Alert).filter_by(kind="red_flag"))
    assert (alert.detail, alert.patient_id) == ("breathing_chest", patient.id)


def test_other_words_on_a_reminder_call_count_as_silence(new_patient, fake_twilio, signed):
    patient, reminder = called(new_patient, fake_twilio)
    root = said_on_the_call(signed, patient, reminder, "What channel is the game on?")
    assert "You have a visit on Thu Feb 12" in spoken(root) and root.find("Dial") is None
    assert root.find("Gather").get("action").endswith("/answer?miss=1")
    assert not db.session.scalar(db.select(Contact).filter_by(phone=patient.phone)).opted_out
    # A second time, as an answering machine's greeting would: a text follows, not a person.
    root = said_on_the_call(signed, patient, reminder, "Hi, this is Ana, leave a message", miss=1)
    assert root.find("Dial") is None and root.find("Hangup") is not None
    assert "text" in spoken(root)
