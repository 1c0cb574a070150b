"""A coordinator changes an enrolled patient's details; reminders follow in the same step."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import unescape

import pytest
from coordinator_support import make_coordinator, post_form, sign_in

from navigator.extensions import db
from navigator.models import AuditEvent, Caregiver, Contact, Patient, Reminder
from navigator.patients import appointments
from navigator.patients.enrolment import NewPatient, enroll

FORM = {
    "name": "Ana Ruiz",
    "language": "en",
    "channel": "sms",
    "timezone": "America/New_York",
    "quiet_start": "21:00",
    "quiet_end": "08:00",
    "detailed_texts": "no",
    "caregiver_scope": "reminders",
}


@pytest.fixture
def patient(app, client):
    make_coordinator()
    sign_in(client)
    made = enroll(NewPatient("Ana Ruiz", "+16175550143", "en", "America/New_York", "sms"))
    made.quiet_start, made.quiet_end = "21:00", "08:00"
    db.session.commit()
    return made


def edit(client, patient, **changes):
    path = f"/patients/{patient.id}/edit"
    return post_form(client, path, {**FORM, **changes})


def fresh(patient) -> Patient:
    db.session.expire_all()
    return db.session.get(Patient, patient.id)


def test_the_edit_page_starts_from_what_is_recorded(app, client, patient):
    html = client.get(f"/patients/{patient.id}/edit").get_data(as_text=True)
    assert 'value="Ana Ruiz"' in html and 'value="21:00"' in html
    assert "(617) 555-0143" in html  # shown, not editable


def test_a_new_language_and_channel_are_saved_and_audited_by_name_only(app, client, patient):
    response = edit(client, patient, language="es", channel="voice")
    assert response.status_code == 302
    changed = fresh(patient)
    assert (changed.language, changed.channel) == ("es", "voice")
    contact = db.session.scalar(db.select(Contact).filter_by(phone=patient.phone))
    assert (contact.language, contact.language_chosen) == ("es", True)  # texts follow
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="edit"))
    assert event.detail == "changed language, reminders by"


def test_new_quiet_hours_replan_the_reminders_of_upcoming_appointments(app, client, patient):
    start = (datetime.now() + timedelta(days=5)).replace(hour=9, minute=0, second=0, microsecond=0)
    appointment = appointments.schedule(patient, "ct", start, "America/New_York", "Mercy")
    db.session.commit()
    before = {r.id for r in appointment.reminders if r.status == "pending"}
    edit(client, patient, quiet_start="19:00", quiet_end="09:30")
    db.session.expire_all()
    rows = db.session.scalars(db.select(Reminder).filter_by(appointment_id=appointment.id)).all()
    assert {r.id for r in rows if r.status == "cancelled"} >= before
    pending = [r for r in rows if r.status == "pending"]
    assert pending
    from navigator.reminders import planning

    assert not any(planning.in_quiet_hours(fresh(patient), r.due_at) for r in pending)


def test_a_caregiver_is_added_changed_and_removed(app, client, patient):
    edit(client, patient, caregiver_phone="617-555-0177", caregiver_name="Luis")
    caregiver = db.session.scalar(db.select(Caregiver))
    assert (caregiver.phone, caregiver.name, caregiver.scope) == (
        "+16175550177",
        "Luis",
        "reminders",
    )
    assert caregiver.consent_at is not None
    edit(
        client,
        patient,
        caregiver_phone="617-555-0177",
        caregiver_name="Luis",
        caregiver_timezone="America/Chicago",
        caregiver_scope="none",
    )
    db.session.expire_all()
    caregiver = db.session.scalar(db.select(Caregiver))
    assert (caregiver.timezone, caregiver.scope) == ("America/Chicago", "none")
    edit(client, patient, caregiver_phone="")
    assert db.session.scalar(db.select(db.func.count(Caregiver.id))) == 0
    details = [e.detail for e in db.session.scalars(db.select(AuditEvent).filter_by(action="edit"))]
    assert details == [
        "changed caregiver (reminders)",
        "changed caregiver scope, timezone",
        "changed caregiver removed",
    ]


def test_detailed_texts_need_the_warning_and_are_recorded_with_when_and_how(app, client, patient):
    refused = edit(client, patient, detailed_texts="yes")
    assert refused.status_code == 422
    assert "Detailed texts need the patient to be told texts are not secure." in unescape(
        refused.get_data(as_text=True)
    )
    assert not fresh(patient).detailed_texts
    edit(
        client,
        patient,
        detailed_texts="yes",
        detailed_told_not_secure="y",
        detailed_how="asked by phone",
    )
    changed = fresh(patient)
    assert changed.detailed_texts and "asked by phone" in changed.detailed_texts_how
    assert changed.detailed_texts_at is not None


def test_mistakes_are_shown_next_to_the_field_and_nothing_is_saved(app, client, patient):
    response = edit(
        client, patient, name="", caregiver_phone="+16175550143", timezone="Mars/Olympus"
    )
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "Enter the patient's name." in html
    assert "The caregiver's number must differ from the patient's." in html
    assert fresh(patient).name == "Ana Ruiz"


def test_saving_without_changes_says_so_and_writes_no_audit_row(app, client, patient):
    response = edit(client, patient)
    assert "Nothing was changed." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).filter_by(action="edit")) == 0
    assert client.get(f"/patients/{patient.id + 99}/edit").status_code == 404
