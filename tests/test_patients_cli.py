"""Enrolling patients from the command line, for demos and scripting."""

from __future__ import annotations

from navigator.extensions import db
from navigator.models import Contact, Patient


def enroll(runner, *args):
    return runner.invoke(args=["patients", "enroll", *args])


def test_enroll_stores_the_number_in_e164_with_language_and_zone(runner):
    result = enroll(
        runner,
        "--name",
        "Ana Demo",
        "--phone",
        "(617) 555-0143",
        "--language",
        "es",
        "--timezone",
        "America/Chicago",
        "--channel",
        "voice",
    )
    assert result.exit_code == 0, result.output
    patient = db.session.scalar(db.select(Patient))
    assert (patient.phone, patient.language, patient.timezone, patient.channel) == (
        "+16175550143",
        "es",
        "America/Chicago",
        "voice",
    )
    contact = db.session.scalar(db.select(Contact).filter_by(phone="+16175550143"))
    assert contact.language == "es"


def test_a_bad_phone_is_refused_with_a_clear_error(runner):
    result = enroll(runner, "--name", "Ana", "--phone", "12345")
    assert result.exit_code != 0
    assert "--phone" in result.output and "not a valid mobile number" in result.output
    assert db.session.scalar(db.select(Patient)) is None


def test_a_bad_language_is_refused(runner):
    result = enroll(runner, "--name", "Ana", "--phone", "+16175550143", "--language", "fr")
    assert result.exit_code != 0 and "--language" in result.output


def test_a_bad_zone_is_refused(runner):
    result = enroll(runner, "--name", "Ana", "--phone", "+16175550143", "--timezone", "Mars/Base")
    assert result.exit_code != 0 and "--timezone" in result.output


def test_a_number_cannot_be_enrolled_twice(runner):
    assert enroll(runner, "--name", "Ana", "--phone", "+16175550143").exit_code == 0
    again = enroll(runner, "--name", "Other", "--phone", "617-555-0143")
    assert again.exit_code != 0 and "already enrolled" in again.output


def test_a_new_patient_gets_the_sites_default_quiet_hours(app, runner):
    app.config["QUIET_HOURS"] = "20:30-09:00"
    assert enroll(runner, "--name", "Ana", "--phone", "+16175550143").exit_code == 0
    patient = db.session.scalar(db.select(Patient))
    assert (patient.quiet_start, patient.quiet_end) == ("20:30", "09:00")


def test_an_enrolment_from_the_command_line_is_audited_without_the_name_or_number(runner):
    from navigator.models import AuditEvent

    enroll(runner, "--name", "Ana Demo", "--phone", "(617) 555-2143")
    [event] = db.session.scalars(db.select(AuditEvent)).all()
    patient = db.session.scalar(db.select(Patient))
    assert (event.action, event.entity, event.entity_id) == ("enroll", "patient", patient.id)
    assert event.detail == "from the command line" and event.coordinator_id is None
