"""A caregiver consents for themselves, and a patient who chose calls is confirmed by a call."""

from __future__ import annotations

import html as markup
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from coordinator_support import CONSENT, post_form, signed_in_nurse
from twilio_signing import TwilioSigner
from twiml_helpers import parse, spoken

from navigator.extensions import db
from navigator.models import Message, Patient, Reminder
from navigator.patients.appointments import schedule

nurse = pytest.fixture(signed_in_nurse, name="nurse")

CAREGIVER = "+16175553177"
VALID = {
    "name": "Ana Ruiz",
    "phone": "(617) 555-2143",
    "language": "es",
    "channel": "sms",
    "timezone": "America/New_York",
    "quiet_start": "21:00",
    "quiet_end": "08:00",
    "detailed_texts": "no",
    "caregiver_scope": "reminders",
    **CONSENT,
}


def enroll(client, **changes):
    return post_form(client, "/patients/new", {**VALID, **changes}, follow_redirects=True)


def test_a_caregiver_gets_their_own_confirmation_with_how_to_stop(app, client, nurse, fake_twilio):
    page = markup.unescape(enroll(client, caregiver_phone="617-555-3177").get_data(as_text=True))
    to_caregiver = [r for r in fake_twilio.accepted("sms") if r.to == CAREGIVER]
    [sent] = to_caregiver
    assert "STOP" in sent.body and "copias" in sent.body  # in the patient's language
    assert "The caregiver was texted a confirmation" in page


def test_a_caregiver_added_later_is_confirmed_too(app, client, nurse, fake_twilio):
    enroll(client)
    patient = db.session.scalar(db.select(Patient))
    form = {**VALID, "caregiver_phone": "617-555-3177"}
    form.pop("phone")
    post_form(client, f"/patients/{patient.id}/edit", form)
    assert [r.to for r in fake_twilio.accepted("sms") if r.to == CAREGIVER] == [CAREGIVER]


def test_a_caregivers_stop_ends_their_copies_but_not_the_patients_reminders(
    app, client, nurse, twilio
):
    from navigator.reminders.worker import send_due

    enroll(client, caregiver_phone="617-555-3177")
    patient = db.session.scalar(db.select(Patient))
    twilio.post(
        "/twilio/sms",
        {"MessageSid": "SM" + "3" * 32, "From": CAREGIVER, "To": "+12025550100", "Body": "STOP"},
    )
    day = date.today() + timedelta(days=2)
    visit = schedule(
        patient,
        "ct",
        datetime.combine(day, datetime.min.time()).replace(hour=11),
        "America/New_York",
        "Main St",
    )
    db.session.commit()
    send_due(now=visit.starts_at - timedelta(minutes=90))  # the 2-hour reminders are due
    rows = db.session.scalars(db.select(Reminder)).all()
    to_caregiver = {r.status for r in rows if r.role == "caregiver"}
    to_patient = {r.status for r in rows if r.role == "patient"}
    assert to_caregiver and to_caregiver <= {"skipped", "cancelled"}
    assert "sent" in to_patient or "delivered" in to_patient


def test_a_patient_who_chose_calls_hears_the_confirmation_on_a_call(
    app, client, nurse, fake_twilio
):
    page = markup.unescape(enroll(client, channel="voice").get_data(as_text=True))
    assert fake_twilio.accepted("sms") == []
    [call] = fake_twilio.accepted("call")
    assert call.to == "+16175552143"
    assert "the confirmation was placed as a call" in page
    signer = TwilioSigner(client, base_url="https://navigator.example.org")
    answered = signer.post(
        urlsplit(call.url).path, {"CallSid": call.sid, "CallStatus": "in-progress"}
    )
    heard = spoken(answered.data)
    assert "STOP" in heard and "9 1 1" in heard and "Hope Clinic Navigator" in heard
    assert parse(answered.data)[-1].tag == "Hangup"
    row = db.session.scalar(db.select(Message).filter_by(channel="voice", direction="out"))
    assert row.content_key == "notices.voice.start"
