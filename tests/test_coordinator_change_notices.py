"""A moved, cancelled or reinstated appointment reaches the patient, and the timeline says how."""

from __future__ import annotations

import html as markup
from datetime import date, datetime, timedelta

import pytest
from coordinator_support import post_form, signed_in_nurse

from navigator.extensions import db
from navigator.models import Alert, Contact, Reminder, utcnow
from navigator.patients.appointments import schedule

nurse = pytest.fixture(signed_in_nurse, name="nurse")

PHONE = "+16175552143"


def book(new_patient, **patient_fields):
    """A patient awake at all hours (no quiet hours) with a CT in eight days at 10:00."""
    fields = {"quiet_start": "00:00", "quiet_end": "00:00", **patient_fields}
    patient = new_patient(phone=PHONE, name="Ana Lopez", **fields)
    day = date.today() + timedelta(days=8)
    appointment = schedule(
        patient,
        "ct",
        datetime.combine(day, datetime.min.time()).replace(hour=10),
        "America/New_York",
        "Main St clinic",
    )
    db.session.commit()
    return patient, appointment


def move(client, appointment, at="15:30", tell=True):
    local_day = (date.today() + timedelta(days=9)).isoformat()
    form = {
        "kind": "ct",
        "day": local_day,
        "at": at,
        "timezone": "America/New_York",
        "location": "Main St clinic",
        "prep_notes": "",
        "step": "save",
    }
    if tell:
        form["tell_patient"] = "y"
    return post_form(client, f"/appointments/{appointment.id}/edit", form)


def timeline(client, patient) -> str:
    return markup.unescape(client.get(f"/patients/{patient.id}").get_data(as_text=True))


def test_moving_texts_the_patient_the_new_time_and_the_timeline_keeps_old_and_new(
    app, client, nurse, new_patient, fake_twilio
):
    patient, appointment = book(new_patient)
    old = (date.today() + timedelta(days=8)).strftime("%a %d %b") + " 10:00"
    new = (date.today() + timedelta(days=9)).strftime("%a %d %b") + " 15:30"
    move(client, appointment)
    [sent] = fake_twilio.accepted("sms")
    assert sent.to == PHONE and "new time" in sent.body and "3:30" in sent.body
    assert "CT" not in sent.body  # minimal detail: no test named
    assert f"moved from {old} to {new}" in timeline(client, patient)


def test_moving_without_telling_the_patient_sends_nothing(
    app, client, nurse, new_patient, fake_twilio
):
    _, appointment = book(new_patient)
    move(client, appointment, tell=False)
    assert fake_twilio.accepted("sms") == []


def test_cancelling_tells_the_patient_and_keeps_the_reason_for_the_record_only(
    app, client, nurse, new_patient, fake_twilio
):
    patient, appointment = book(new_patient)
    post_form(
        client,
        f"/appointments/{appointment.id}/cancel",
        {"reason": "scanner broken", "tell": "y"},
    )
    [sent] = fake_twilio.accepted("sms")
    assert "cancel" in sent.body and "scanner" not in sent.body
    page = timeline(client, patient)
    assert "reason: scanner broken" in page


def test_a_cancelled_appointment_can_be_reinstated_with_its_reminders_planned_again(
    app, client, nurse, new_patient, fake_twilio
):
    patient, appointment = book(new_patient)
    post_form(client, f"/appointments/{appointment.id}/cancel", {"reason": ""})
    assert fake_twilio.accepted("sms") == []  # not told: the box was not ticked
    pending = db.select(db.func.count(Reminder.id)).filter_by(
        appointment_id=appointment.id, status="pending"
    )
    assert db.session.scalar(pending) == 0
    assert "Reinstate" in timeline(client, patient)
    post_form(
        client,
        f"/appointments/{appointment.id}/reinstate",
        {},
        page=f"/patients/{patient.id}",
    )
    db.session.expire_all()
    assert appointment.status == "scheduled"
    assert db.session.scalar(pending) >= 2
    [sent] = fake_twilio.accepted("sms")
    assert "back on" in sent.body
    assert "reinstated an appointment" in timeline(client, patient)


def test_in_the_patients_quiet_hours_a_person_is_asked_to_tell_them_instead(
    app, client, nurse, new_patient, fake_twilio
):
    _, appointment = book(new_patient, quiet_start="00:00", quiet_end="23:59")
    move(client, appointment)
    assert fake_twilio.accepted("sms") == []
    [alert] = db.session.scalars(db.select(Alert)).all()
    assert alert.kind == "notice_waiting" and alert.appointment_id == appointment.id
    inbox = markup.unescape(client.get("/inbox").get_data(as_text=True))
    assert "Appointment change to tell the patient" in inbox and "quiet hours" in inbox


def test_a_patient_who_chose_calls_is_told_by_a_person(
    app, client, nurse, new_patient, fake_twilio
):
    _, appointment = book(new_patient, channel="voice")
    move(client, appointment)
    assert fake_twilio.accepted("sms") == []
    [alert] = db.session.scalars(db.select(Alert)).all()
    assert "gets calls" in alert.detail


def test_a_number_that_opted_out_is_not_texted_about_a_change(
    app, client, nurse, new_patient, fake_twilio
):
    _, appointment = book(new_patient)
    contact = db.session.scalar(db.select(Contact).filter_by(phone=PHONE))
    contact.opted_out_at = utcnow()
    db.session.commit()
    response = move(client, appointment)
    assert fake_twilio.accepted("sms") == []
    page = markup.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "opted out of texts, so they were not told" in page
