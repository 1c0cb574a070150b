"""A coordinator corrects a patient's mobile number; nothing more goes to the old one."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from coordinator_support import CONSENT, make_coordinator, post_form, sign_in
from twiml_helpers import texts_of

from navigator.catalog import catalog
from navigator.extensions import db
from navigator.models import AuditEvent, Caregiver, Consent, Contact, Message, Patient, Reminder
from navigator.patients import appointments
from navigator.patients.enrolment import NewPatient, enroll

OLD, NEW = "+16175550134", "+16175550143"


@pytest.fixture
def patient(app, client):
    make_coordinator()
    sign_in(client)
    made = enroll(NewPatient("Ana Ruiz", OLD, "es", "America/New_York", "sms"))
    db.session.commit()
    return made


def change(client, patient, phone=NEW, **overrides):
    path = f"/patients/{patient.id}/phone"
    return post_form(
        client, path, {**CONSENT, "consent_method": "phone", "phone": phone, **overrides}
    )


def fresh(patient) -> Patient:
    db.session.expire_all()
    return db.session.get(Patient, patient.id)


def test_the_patient_page_links_to_changing_the_number(app, client, patient):
    html = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert f"/patients/{patient.id}/phone" in html


def test_a_corrected_number_is_saved_with_consent_and_texted_the_confirmation(app, client, patient):
    response = change(client, patient, phone="(617) 555-0143")
    assert response.status_code == 302
    assert fresh(patient).phone == NEW
    consent = db.session.scalars(db.select(Consent).order_by(Consent.id.desc())).first()
    assert consent.method == "phone" and consent.disclosures.startswith("New mobile number")
    text = db.session.scalar(db.select(Message).filter_by(direction="out", phone=NEW))
    assert text.body == catalog().render("prompts.sms.start", "es", program="Hope Clinic Navigator")
    contact = db.session.scalar(db.select(Contact).filter_by(phone=NEW))
    assert (contact.language, contact.language_chosen) == ("es", True)


def test_upcoming_reminders_go_to_the_new_number_and_none_to_the_old(app, client, patient):
    start = (datetime.now() + timedelta(days=6)).replace(hour=10, minute=0, second=0, microsecond=0)
    appointments.schedule(patient, "biopsy", start, "America/New_York", "Mercy")
    db.session.commit()
    change(client, patient)
    db.session.expire_all()
    pending = db.session.scalars(db.select(Reminder).filter_by(status="pending")).all()
    assert pending and {r.recipient_phone for r in pending} == {NEW}


def test_the_change_is_audited_without_either_number(app, client, patient):
    change(client, patient)
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="edit"))
    assert event.detail == "changed mobile number, consent at the new number"
    assert "555" not in event.detail


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("555-12", "This is not a valid phone number."),
        (OLD, "This is already the patient&#39;s number."),
    ],
)
def test_a_bad_or_unchanged_number_is_refused_next_to_the_field(
    app, client, patient, phone, message
):
    response = change(client, patient, phone=phone)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert fresh(patient).phone == OLD


def test_another_patients_number_is_refused_and_nothing_is_half_saved(app, client, patient):
    enroll(NewPatient("Bea Soto", NEW, "en", "America/New_York", "sms"))
    db.session.commit()
    consents = db.session.scalar(db.select(db.func.count(Consent.id)))
    response = change(client, patient)
    assert response.status_code == 422
    assert "This number is already enrolled" in response.get_data(as_text=True)
    assert fresh(patient).phone == OLD
    assert db.session.scalar(db.select(db.func.count(Consent.id))) == consents


def test_the_caregivers_number_cannot_become_the_patients(app, client, patient):
    fresh(patient).caregivers.append(Caregiver(phone=NEW, scope="reminders"))
    db.session.commit()
    response = change(client, patient)
    assert response.status_code == 422
    assert "This is the caregiver&#39;s number." in response.get_data(as_text=True)


def test_consent_at_the_new_number_is_required(app, client, patient):
    response = change(client, patient, told_stop="")
    assert response.status_code == 422
    assert "tick the box before saving" in response.get_data(as_text=True)
    assert fresh(patient).phone == OLD


def test_the_old_number_is_an_unknown_caller_afterwards(app, client, patient, twilio):
    start = (datetime.now() + timedelta(days=6)).replace(hour=10, minute=0, second=0, microsecond=0)
    appointments.schedule(patient, "biopsy", start, "America/New_York", "Mercy Imaging")
    db.session.commit()

    def next_visit(sid: str) -> str:
        form = {"MessageSid": sid, "From": OLD, "To": "+12025550100", "Body": "NEXT"}
        return "\n".join(texts_of(twilio.post("/twilio/sms", form).data))

    assert "Mercy Imaging" in next_visit("SM" + "6" * 32)  # before: the patient's number
    change(client, patient)
    after = next_visit("SM" + "7" * 32)
    assert after and "Mercy Imaging" not in after
