"""Appointments with a preview of their reminders."""

from __future__ import annotations

import html as markup
import re
from datetime import date, datetime, timedelta

import pytest
from coordinator_support import csrf_token, make_coordinator, post_form, sign_in

from navigator.extensions import db
from navigator.models import Appointment, AuditEvent, Caregiver, Reminder
from navigator.patients.enrolment import NewPatient, enroll


@pytest.fixture
def patient(app, client):
    make_coordinator()
    sign_in(client)
    made = enroll(NewPatient("Ana Ruiz", "+16175550143", "en", "America/Los_Angeles", "sms"))
    db.session.commit()
    return made


def _next_week() -> str:
    return (date.today() + timedelta(days=8)).isoformat()


def appointment_form(**changes):
    return {
        "kind": "pet-ct",
        "day": _next_week(),
        "at": "14:30",
        "timezone": "America/New_York",
        "location": "Main campus, Radiology",
        "prep_notes": "Nothing to eat 6 hours before.",
        **changes,
    }


def count(model, **where) -> int:
    return db.session.scalar(db.select(db.func.count(model.id)).filter_by(**where))


def test_the_preview_shows_reminders_in_the_patients_zone_and_saves_nothing(app, client, patient):
    path = f"/patients/{patient.id}/appointments/new"
    response = post_form(client, path, {**appointment_form(), "step": "preview"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Reminders that will go out" in html and "America/Los_Angeles" in html
    # 14:30 in New York is 11:30 in Los Angeles: the 2-hour reminder goes at 09:30 there.
    assert "09:30 PST" in html or "09:30 PDT" in html
    assert "Save appointment" in html
    assert count(Appointment) == 0 and count(Reminder) == 0


def test_saving_after_the_preview_makes_the_appointment_its_reminders_and_an_audit_row(
    app, client, patient
):
    path = f"/patients/{patient.id}/appointments/new"
    response = post_form(client, path, {**appointment_form(), "step": "save"})
    assert response.status_code == 302
    appointment = db.session.scalar(db.select(Appointment))
    assert appointment.timezone == "America/New_York"
    assert appointment.starts_at.strftime("%H:%M") in ("19:30", "18:30")  # UTC
    assert appointment.prep_notes == "Nothing to eat 6 hours before."
    assert count(Reminder, appointment_id=appointment.id, status="pending") >= 3
    audit = db.session.scalar(
        db.select(AuditEvent).filter_by(action="create_appointment", entity="appointment")
    )
    assert audit.entity_id == appointment.id


def test_the_preview_counts_a_caregivers_copies(app, client, patient):
    db.session.add(Caregiver(patient_id=patient.id, phone="+16175550177", scope="reminders"))
    db.session.commit()
    html = post_form(
        client,
        f"/patients/{patient.id}/appointments/new",
        {**appointment_form(), "step": "preview"},
    ).get_data(as_text=True)
    assert "Caregiver (copy)" in html


def test_change_details_goes_back_to_the_form_with_what_was_typed(app, client, patient):
    response = post_form(
        client,
        f"/patients/{patient.id}/appointments/new",
        {**appointment_form(location="Annex B"), "step": "edit"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'value="Annex B"' in html
    assert "Preview reminders" in html and count(Appointment) == 0


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"day": "next tuesday"}, "Enter a date like 2026-12-01."),
        ({"at": "2:30pm"}, "Enter a time like 09:30 or 14:30"),
        ({"location": ""}, "Enter where it is."),
        ({"location": "x" * 61}, "Keep the location to 60 characters or fewer, so a reminder"),
        ({"prep_notes": "x" * 201}, "Keep the preparation notes to 200 characters or fewer"),
        ({"day": "2020-01-01"}, "That time is in the past"),
        ({"timezone": "Nowhere/Land"}, "Choose a time zone from the list"),
    ],
)
def test_mistakes_are_shown_next_to_the_field(app, client, patient, changes, message):
    response = post_form(
        client,
        f"/patients/{patient.id}/appointments/new",
        {**appointment_form(**changes), "step": "preview"},
    )
    assert response.status_code == 422
    assert message in markup.unescape(response.get_data(as_text=True))
    assert count(Appointment) == 0


def _saved(client, patient) -> Appointment:
    post_form(
        client, f"/patients/{patient.id}/appointments/new", {**appointment_form(), "step": "save"}
    )
    return db.session.scalar(db.select(Appointment))


def test_moving_an_appointment_replaces_its_reminders(app, client, patient):
    appointment = _saved(client, patient)
    old = {r.id for r in db.session.scalars(db.select(Reminder).filter_by(status="pending"))}
    later = (date.today() + timedelta(days=15)).isoformat()
    path = f"/appointments/{appointment.id}/edit"
    preview = post_form(client, path, {**appointment_form(day=later), "step": "preview"})
    assert "moved" in preview.get_data(as_text=True)
    db.session.expire_all()
    assert {
        r.id for r in db.session.scalars(db.select(Reminder).filter_by(status="pending"))
    } == old
    response = post_form(client, path, {**appointment_form(day=later), "step": "save"})
    assert response.status_code == 302
    db.session.expire_all()
    moved = db.session.get(Appointment, appointment.id)
    assert moved.starts_at.date() == datetime.fromisoformat(later).date()
    pending = {r.id for r in db.session.scalars(db.select(Reminder).filter_by(status="pending"))}
    assert pending and not (pending & old)
    assert db.session.scalar(
        db.select(AuditEvent).filter_by(action="update_appointment", entity="appointment")
    )


def test_the_edit_form_starts_with_the_appointment_in_its_sites_time(app, client, patient):
    appointment = _saved(client, patient)
    html = client.get(f"/appointments/{appointment.id}/edit").get_data(as_text=True)
    assert 'value="14:30"' in html and f'value="{_next_week()}"' in html


def test_editing_the_location_keeps_the_reminders(app, client, patient):
    appointment = _saved(client, patient)
    before = {r.id for r in db.session.scalars(db.select(Reminder).filter_by(status="pending"))}
    post_form(
        client,
        f"/appointments/{appointment.id}/edit",
        {**appointment_form(location="Annex B"), "step": "save"},
    )
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).location == "Annex B"
    assert {
        r.id for r in db.session.scalars(db.select(Reminder).filter_by(status="pending"))
    } == before


def test_cancelling_asks_first_then_stops_the_reminders(app, client, patient):
    appointment = _saved(client, patient)
    page = client.get(f"/appointments/{appointment.id}/cancel").get_data(as_text=True)
    assert "These reminders will not go out" in page
    response = post_form(client, f"/appointments/{appointment.id}/cancel", {})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status == "cancelled"
    assert count(Reminder, status="pending") == 0
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="cancel_appointment"))


def test_cancelling_an_already_cancelled_appointment_changes_nothing_and_says_so(
    app, client, patient
):
    appointment = _saved(client, patient)
    path = f"/appointments/{appointment.id}/cancel"
    post_form(client, path, {})
    token = csrf_token(client, f"/patients/{patient.id}")
    again = client.post(path, data={"csrf_token": token})  # a second tab, or a double click
    assert again.status_code == 302
    assert again.headers["Location"] == f"/patients/{patient.id}#appointments"
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "This appointment was already cancelled. Nothing changed." in page
    assert count(AuditEvent, action="cancel_appointment", entity="appointment") == 1
    assert client.get(path).headers["Location"] == f"/patients/{patient.id}#appointments"


def _zone_offered(client, patient) -> str:
    html = client.get(f"/patients/{patient.id}/appointments/new").get_data(as_text=True)
    return re.search(r'<option selected value="([^"]+)"', html).group(1)


def test_a_new_appointment_starts_in_the_clinics_zone_not_the_patients(app, client, patient):
    assert patient.timezone == "America/Los_Angeles"
    html = client.get(f"/patients/{patient.id}/appointments/new").get_data(as_text=True)
    assert "Site&#39;s time zone (where the appointment is)" in html
    assert "not the patient&#39;s" in html
    assert _zone_offered(client, patient) == "America/New_York"
    app.config["SITE_TIMEZONE"] = "America/Chicago"
    assert _zone_offered(client, patient) == "America/Chicago"


def test_a_new_appointment_starts_in_the_zone_of_the_patients_latest_one(app, client, patient):
    post_form(
        client,
        f"/patients/{patient.id}/appointments/new",
        {**appointment_form(timezone="America/Denver"), "step": "save"},
    )
    assert _zone_offered(client, patient) == "America/Denver"
