"""Appointment times on the days the clocks change: a time that does not exist is refused,
one that happens twice is asked about, in the coordinator app and on the command line."""

from __future__ import annotations

from datetime import datetime

import pytest
from coordinator_support import make_coordinator, post_form, sign_in
from test_appointments import PHONE, add
from test_coordinator_appointments import appointment_form

from navigator.extensions import db
from navigator.models import Appointment
from navigator.patients import appointments
from navigator.patients.appointments import AppointmentError
from navigator.patients.enrolment import NewPatient, enroll

NEW_YORK = "America/New_York"
SPRING_GAP = datetime(2027, 3, 14, 2, 30)  # 02:00 to 03:00 does not happen
FALL_TWICE = datetime(2027, 11, 7, 1, 30)  # 01:00 to 02:00 happens twice


def test_a_time_the_clocks_skip_is_refused():
    with pytest.raises(AppointmentError, match="does not exist") as refused:
        appointments.to_utc(SPRING_GAP, NEW_YORK)
    assert refused.value.field == "at"


def test_a_time_that_happens_twice_asks_which_and_each_answer_is_an_hour_apart():
    with pytest.raises(AppointmentError, match="happens twice") as asked:
        appointments.to_utc(FALL_TWICE, NEW_YORK)
    assert asked.value.field == "repeated"
    assert "EDT" in str(asked.value) and "EST" in str(asked.value)
    assert appointments.to_utc(FALL_TWICE, NEW_YORK, "first") == datetime(2027, 11, 7, 5, 30)
    assert appointments.to_utc(FALL_TWICE, NEW_YORK, "second") == datetime(2027, 11, 7, 6, 30)


def test_an_ordinary_time_needs_no_answer():
    assert appointments.to_utc(datetime(2027, 11, 8, 1, 30), NEW_YORK) == datetime(
        2027, 11, 8, 6, 30
    )


def test_the_cli_refuses_a_skipped_time_and_asks_about_a_repeated_one(runner, new_patient):
    new_patient(phone=PHONE)
    skipped = add(runner, at="2027-03-14 02:30")
    assert skipped.exit_code != 0 and "does not exist" in skipped.output
    repeated = add(runner, at="2027-11-07 01:30")
    assert repeated.exit_code != 0
    assert "--repeated" in repeated.output and "happens twice" in repeated.output
    assert db.session.scalars(db.select(Appointment)).all() == []
    chosen = add(runner, "--repeated", "second", at="2027-11-07 01:30")
    assert chosen.exit_code == 0, chosen.output
    [made] = db.session.scalars(db.select(Appointment)).all()
    assert made.starts_at == datetime(2027, 11, 7, 6, 30)


@pytest.fixture
def patient(app, client):
    make_coordinator()
    sign_in(client)
    made = enroll(NewPatient("Ana Ruiz", "+16175550143", "en", NEW_YORK, "sms"))
    db.session.commit()
    return made


def test_the_app_refuses_a_skipped_time_next_to_the_field(app, client, patient):
    form = appointment_form(day="2027-03-14", at="02:30", timezone=NEW_YORK)
    response = post_form(client, f"/patients/{patient.id}/appointments/new", form)
    assert response.status_code == 422
    assert "does not exist" in response.get_data(as_text=True)


def test_the_app_asks_which_of_a_repeated_time_then_saves_the_one_chosen(app, client, patient):
    path = f"/patients/{patient.id}/appointments/new"
    form = appointment_form(day="2027-11-07", at="01:30", timezone=NEW_YORK)
    asked = post_form(client, path, form)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 422 and "happens twice" in page
    assert 'name="repeated"' in page
    post_form(client, path, {**form, "repeated": "first", "step": "save"})
    [made] = db.session.scalars(db.select(Appointment)).all()
    assert made.starts_at == datetime(2027, 11, 7, 5, 30)
