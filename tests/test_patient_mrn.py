"""A patient's hospital record number: how the scheduling feed finds them (with the DOB)."""

from __future__ import annotations

import pytest
from coordinator_support import make_coordinator, post_form, sign_in
from feed_support import AUTHORITY, DOB, MRN, enroll_patient, seed_site, siu
from test_coordinator_patients import VALID

from navigator.extensions import db
from navigator.feed import intake as feed_intake
from navigator.models import AuditEvent, FeedMessage, Patient


@pytest.fixture
def signed_in(app, client):
    make_coordinator()
    sign_in(client)


def test_the_cli_enrolls_a_patient_with_mrn_and_date_of_birth(app, runner):
    app.config["HL7_MRN_AUTHORITY"] = "MAINHOSP"
    result = runner.invoke(
        args=[
            "patients", "enroll", "--name", "Ana Demo", "--phone", "+16175550143",
            "--mrn", "E1234567", "--dob", "1965-04-12",
            "--consent-by", "Nora Nurse", "--consent-method", "in person",
        ]
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    patient = db.session.scalar(db.select(Patient))
    assert (patient.mrn, patient.mrn_authority, patient.date_of_birth.isoformat()) == (
        "E1234567",
        "MAINHOSP",
        "1965-04-12",
    )


def test_the_cli_refuses_an_mrn_another_patient_has(app, runner):
    enroll_patient(mrn="E1234567", mrn_authority="")
    result = runner.invoke(
        args=[
            "patients", "enroll", "--name", "Ana", "--phone", "+16175550144", "--mrn", "E1234567",
            "--consent-by", "Nora Nurse", "--consent-method", "in person",
        ]
    )  # fmt: skip

    assert result.exit_code != 0
    assert "--mrn: another patient has this MRN" in result.output


def test_the_enrolment_form_records_the_mrn_and_the_page_shows_it(app, client, signed_in):
    response = post_form(
        client, "/patients/new", {**VALID, "mrn": "E7654321", "mrn_authority": "MAINHOSP"}
    )

    assert response.status_code == 302
    patient = db.session.scalar(db.select(Patient))
    assert (patient.mrn, patient.mrn_authority) == ("E7654321", "MAINHOSP")
    page = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "E7654321 (MAINHOSP)" in page


def test_the_enrolment_form_records_the_date_of_birth_and_the_page_shows_it(app, client, signed_in):
    """The feed matches on MRN and date of birth: a coordinator sees both on the page."""
    post_form(
        client,
        "/patients/new",
        {**VALID, "mrn": "E7654321", "mrn_authority": "MAINHOSP", "date_of_birth": "1965-04-12"},
    )

    patient = db.session.scalar(db.select(Patient))
    assert patient.date_of_birth.isoformat() == "1965-04-12"
    page = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "<dt>Date of birth</dt><dd>12 Apr 1965</dd>" in page


def test_the_page_says_when_no_date_of_birth_is_on_file(app, client, signed_in):
    patient = enroll_patient(date_of_birth=None)

    page = client.get(f"/patients/{patient.id}").get_data(as_text=True)

    assert "<dt>Date of birth</dt><dd>None on file:" in page


def test_the_enrolment_form_refuses_a_taken_mrn_next_to_the_field(app, client, signed_in):
    enroll_patient(mrn="E7654321", mrn_authority="MAINHOSP", phone="+16175550199")

    response = post_form(
        client, "/patients/new", {**VALID, "mrn": "E7654321", "mrn_authority": "MAINHOSP"}
    )

    assert response.status_code != 302
    assert "Another patient has this MRN." in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Patient.id))) == 1


def test_an_mrn_added_to_an_enrolled_patient_is_audited_without_its_value(app, client, signed_in):
    patient = enroll_patient(mrn=None, mrn_authority=None)
    path = f"/patients/{patient.id}/edit"
    form = {
        k: v for k, v in VALID.items() if k != "phone" and not k.startswith(("consent", "told"))
    }

    post_form(client, path, {**form, "name": patient.name, "mrn": "E1111111"})

    db.session.refresh(patient)
    assert patient.mrn == "E1111111"
    audit = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "edit")).one()
    assert "MRN" in audit.detail and "E1111111" not in audit.detail


ENROLL = [
    "patients", "enroll", "--name", "Rosa Quintana", "--phone", "+16175550199",
    "--consent-by", "Nora Nurse", "--consent-method", "in person",
]  # fmt: skip


def test_a_patient_enrolled_from_the_command_line_is_found_by_the_feed(app, runner):
    seed_site()
    result = runner.invoke(
        args=[*ENROLL, "--mrn", MRN, "--mrn-authority", AUTHORITY, "--dob", DOB.isoformat()]
    )
    assert result.exit_code == 0, result.output

    answer = feed_intake.receive(siu("S12", "MSG0001"))

    message = db.session.get(FeedMessage, answer.message_id)
    patient = db.session.scalar(db.select(Patient))
    assert (message.status, message.patient_id) == ("applied", patient.id)


def test_the_cli_refuses_a_date_of_birth_that_is_not_a_date(app, runner):
    result = runner.invoke(args=[*ENROLL, "--mrn", MRN, "--dob", "12/04/1965"])

    assert result.exit_code != 0
    assert "--dob" in result.output
    assert db.session.scalar(db.select(Patient)) is None
