"""Enrolling patients from the command line, for demos and scripting: as in the app, only
with recorded consent, and the patient gets the same opt-in confirmation."""

from __future__ import annotations

from datetime import datetime

import pytest

from navigator.catalog import catalog
from navigator.extensions import db
from navigator.models import (
    Alert,
    AuditEvent,
    Consent,
    Contact,
    Message,
    Patient,
    PatientEvent,
)
from navigator.patients.consent import DISCLOSURES

CONSENT = ("--consent-by", "Nora Nurse", "--consent-method", "in person")
ANA = ("--name", "Ana Demo", "--phone", "(617) 555-2143")


def enroll(runner, *args, consent=CONSENT):
    return runner.invoke(args=["patients", "enroll", *args, *consent])


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


# -- consent and the opt-in, as in the app ----------------------------------------------------


@pytest.mark.parametrize(
    ("consent", "named"),
    [
        ((), "--consent-by and --consent-method are required"),
        (("--consent-by", "Nora Nurse"), "--consent-method is required"),
        (("--consent-method", "phone"), "--consent-by is required"),
        (("--consent-by", "  ", "--consent-method", "phone"), "--consent-by is required"),
    ],
)
def test_without_who_obtained_consent_and_how_nothing_is_enrolled_or_sent(
    runner, fake_twilio, consent, named
):
    result = enroll(runner, *ANA, consent=consent)
    assert result.exit_code != 0
    assert named in result.output and "consent" in result.output
    for table in (Patient, Contact, Consent, PatientEvent, Message, AuditEvent, Alert):
        assert db.session.scalars(db.select(table)).all() == [], table.__name__
    assert fake_twilio.received == []


def test_a_method_that_is_not_one_of_the_apps_is_refused(runner):
    result = enroll(
        runner,
        *ANA,
        consent=("--consent-by", "Nora Nurse", "--consent-method", "carrier pigeon"),
    )
    assert result.exit_code != 0 and "--consent-method" in result.output
    assert db.session.scalar(db.select(Patient)) is None


def test_consent_is_recorded_with_the_opt_in_and_the_confirmation_is_texted(runner, fake_twilio):
    result = enroll(
        runner,
        *ANA,
        "--language",
        "es",
        consent=CONSENT + ("--consent-at", "2026-12-01T15:30"),
    )
    assert result.exit_code == 0, result.output
    assert "opt-in confirmation was sent" in result.output
    patient = db.session.scalar(db.select(Patient))
    [consent] = db.session.scalars(db.select(Consent)).all()
    assert (consent.patient_id, consent.obtained_by, consent.method, consent.obtained_at) == (
        patient.id,
        "Nora Nurse",
        "in person",
        datetime(2026, 12, 1, 15, 30),
    )
    assert consent.disclosures.splitlines() == [line for _, line in DISCLOSURES]
    [event] = db.session.scalars(db.select(PatientEvent)).all()
    assert (event.kind, event.patient_id) == ("opted_in", patient.id)
    [sent] = fake_twilio.accepted("sms")
    spanish = catalog().render("prompts.sms.start", "es", program="Hope Clinic Navigator")
    assert (sent.to, sent.body) == ("+16175552143", spanish)
    text = db.session.scalar(db.select(Message).filter_by(content_key="prompts.sms.start"))
    assert (text.patient_id, text.status) == (patient.id, "queued")  # as Twilio answered


def test_a_patient_who_chose_calls_gets_the_confirmation_as_a_call(runner, fake_twilio):
    result = enroll(runner, *ANA, "--channel", "voice")
    assert result.exit_code == 0, result.output
    [call] = fake_twilio.accepted()
    assert call.kind == "call" and call.url.startswith(
        "https://navigator.example.org/twilio/confirmation-call/"
    )


def test_without_a_twilio_account_the_confirmation_waits_in_the_outbox(runner):
    assert enroll(runner, *ANA).exit_code == 0
    text = db.session.scalar(db.select(Message).filter_by(content_key="prompts.sms.start"))
    assert text.transport == "outbox"


def test_a_confirmation_twilio_refuses_keeps_the_patient_and_lands_in_the_inbox(
    runner, fake_twilio
):
    fake_twilio.fail_for("+16175552143", 400, 21610)
    result = enroll(runner, *ANA)
    assert result.exit_code == 0, result.output
    assert "could not be sent; it is in the inbox" in result.output
    patient = db.session.scalar(db.select(Patient))
    [item] = db.session.scalars(db.select(Alert)).all()
    assert (item.kind, item.patient_id, item.detail) == (
        "delivery_failed",
        patient.id,
        "opt-in confirmation not sent",
    )
    assert db.session.get(Message, item.message_id).status == "failed"
