"""Date of birth and PIN set in the app, so a patient enrolled there can hear their visit."""

from __future__ import annotations

import re
from html import unescape

import pytest
from coordinator_support import CONSENT, post_form, signed_in_nurse

from navigator.extensions import db
from navigator.models import AuditEvent, Contact, Patient

nurse = pytest.fixture(signed_in_nurse, name="nurse")

PHONE = "+16175552143"
VALID = {
    "name": "Ana Ruiz",
    "phone": "(617) 555-2143",
    "language": "en",
    "channel": "voice",
    "timezone": "America/New_York",
    "quiet_start": "21:00",
    "quiet_end": "08:00",
    "detailed_texts": "no",
    "caregiver_scope": "reminders",
    **CONSENT,
}
PIN_SHOWN = re.compile(r"New PIN for calls: (\d{6})\. Tell the patient now")


def enroll(client, **changes):
    return post_form(client, "/patients/new", {**VALID, **changes}, follow_redirects=True)


def verify(twilio, digits: str):
    """The caller keys ``digits`` at the phone check; True when it let them through."""
    from navigator.patients.enrolment import contact_for

    contact_for(PHONE)
    db.session.commit()
    twilio.post(
        "/twilio/voice/verify",
        {"CallSid": "CA" + "9" * 32, "From": PHONE, "To": "+12025550100", "Digits": digits},
    )
    db.session.expire_all()
    return db.session.scalar(db.select(Contact).filter_by(phone=PHONE)).verified_call_sid


def test_a_pin_made_at_enrolment_is_shown_once_and_works_on_a_call(app, client, nurse, twilio):
    page = unescape(enroll(client, date_of_birth="1961-04-23", new_pin="y").get_data(as_text=True))
    [pin] = PIN_SHOWN.findall(page)
    patient = db.session.scalar(db.select(Patient))
    assert patient.pin_hash and pin not in patient.pin_hash
    assert "Works with the date of birth or PIN." in page
    again = unescape(client.get(f"/patients/{patient.id}").get_data(as_text=True))
    assert pin not in again  # shown once
    audit = db.session.scalar(db.select(AuditEvent).filter_by(action="enroll"))
    assert "date of birth" in audit.detail and "new PIN" in audit.detail
    assert pin not in audit.detail and "1961" not in audit.detail
    assert verify(twilio, pin)


def test_the_date_of_birth_set_in_change_details_passes_the_phone_check(app, client, nurse, twilio):
    enroll(client)
    patient = db.session.scalar(db.select(Patient))
    page = unescape(client.get(f"/patients/{patient.id}").get_data(as_text=True))
    assert "Cannot work: no date of birth or PIN is on record." in page
    form = {**VALID, "date_of_birth": "1961-04-23"}
    form.pop("phone")
    post_form(client, f"/patients/{patient.id}/edit", form)
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).date_of_birth.isoformat() == "1961-04-23"
    assert not verify(twilio, "01011960")
    assert verify(twilio, "04231961")


@pytest.mark.parametrize("typed", ["23/04/1961", "2999-01-01"])
def test_a_wrong_date_of_birth_is_refused_at_the_field_and_nothing_is_saved(
    app, client, nurse, typed
):
    response = post_form(client, "/patients/new", {**VALID, "date_of_birth": typed})
    assert response.status_code == 422
    html = unescape(response.get_data(as_text=True))
    assert 'id="date_of_birth-error"' in html
    assert db.session.scalar(db.select(Patient)) is None
