"""One enrolment path: whichever way a patient is enrolled (the app's form, a practice
patient, the command line), they are left with the same records and get the same opt-in.

Each path runs end to end (the signed-in form, the try-it panel's button, the CLI) against
the real database and the local outbox.
"""

from __future__ import annotations

import pytest
from coordinator_support import make_coordinator, post_form, sign_in
from test_coordinator_patients import VALID
from test_coordinator_tryit import make_practice_patient

from navigator.extensions import db
from navigator.models import Message, Patient, PatientEvent


@pytest.fixture
def signed_in(app, client):
    make_coordinator(timezone="America/New_York")
    sign_in(client)


def by_the_form(client, runner) -> None:
    assert post_form(client, "/patients/new", VALID).status_code == 302


def as_a_practice_patient(client, runner) -> None:
    make_practice_patient(client)


def on_the_command_line(client, runner) -> None:
    result = runner.invoke(
        args=[
            "patients", "enroll", "--name", "Ana Demo", "--phone", "(617) 555-2143",
            "--consent-by", "Nora Nurse", "--consent-method", "phone",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("path", [by_the_form, as_a_practice_patient, on_the_command_line])
def test_every_way_of_enrolling_records_consent_the_opt_in_and_sends_the_confirmation(
    client, runner, signed_in, path
):
    path(client, runner)
    patient = db.session.scalar(db.select(Patient))
    [consent] = patient.consents
    assert consent.obtained_by and consent.method and consent.obtained_at and consent.disclosures
    events = db.session.scalars(db.select(PatientEvent).filter_by(patient_id=patient.id)).all()
    assert [(e.kind, e.channel) for e in events] == [("opted_in", "coordinator")]
    [confirmation] = db.session.scalars(
        db.select(Message).filter_by(patient_id=patient.id, content_key="prompts.sms.start")
    ).all()
    assert (confirmation.phone, confirmation.transport) == (patient.phone, "outbox")
