"""A coordinator lifts the lock on a patient's phone identity check after five wrong tries."""

from __future__ import annotations

import itertools
import re

import pytest
from coordinator_support import make_coordinator, post_form, sign_in
from twiml_helpers import spoken

from navigator.extensions import db
from navigator.models import Alert, AuditEvent, Contact
from navigator.patients.enrolment import NewPatient, enroll

PHONE = "+16175550143"
_calls = itertools.count(1)
BUTTON = re.compile(r"<button[^>]*>Allow the phone check again</button>")


@pytest.fixture
def patient(app, client):
    make_coordinator()
    sign_in(client)
    made = enroll(NewPatient("Ana Ruiz", PHONE, pin="4321"))
    db.session.commit()
    return made


def key_in(twilio, app, digits: str) -> str:
    """A call from the patient's number keying ``digits`` at the PIN prompt: what it hears."""
    data = {
        "CallSid": f"CA{next(_calls):032d}",
        "AccountSid": "AC" + "0" * 32,
        "From": PHONE,
        "To": "+12025550100",
        "CallStatus": "in-progress",
        "Digits": digits,
    }
    response = twilio.post("/twilio/voice/verify", data)
    assert response.status_code == 200
    return spoken(response.data)


def said(app, key: str) -> str:
    return app.extensions["content"].render(key, "en")


def lock(twilio, app) -> None:
    for _ in range(5):
        key_in(twilio, app, "1111")


def page(client, patient) -> str:
    return client.get(f"/patients/{patient.id}").get_data(as_text=True)


def test_the_patient_page_says_nothing_of_the_phone_check_while_it_is_open(
    app, client, patient, twilio
):
    key_in(twilio, app, "1111")
    html = page(client, patient)
    assert "Phone check locked" not in html
    assert not BUTTON.search(html)


def test_the_patient_page_shows_the_lock_with_a_button_to_lift_it(app, client, patient, twilio):
    lock(twilio, app)
    html = page(client, patient)
    assert "Phone check locked after 5 wrong tries" in html
    assert BUTTON.search(html)


def test_the_lock_is_in_the_inbox_with_the_callback_requests(app, client, patient, twilio):
    lock(twilio, app)
    html = client.get("/inbox").get_data(as_text=True)
    group = html.split('id="group-voicemail"')[1].split("</section>")[0]
    assert "Phone check locked after 5 wrong tries" in group and "Ana Ruiz" in group
    assert "1111" not in html


def test_allowing_the_check_again_is_audited_and_then_the_right_pin_works(
    app, client, patient, twilio
):
    lock(twilio, app)
    assert said(app, "prompts.voice.check_locked") in key_in(twilio, app, "4321")
    response = post_form(
        client,
        f"/patients/{patient.id}/phone-check",
        {},
        page=f"/patients/{patient.id}",
        follow_redirects=True,
    )
    assert "The phone check is allowed again" in response.get_data(as_text=True)
    assert not BUTTON.search(page(client, patient))
    db.session.expire_all()
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="allow_phone_check"))
    assert event.entity == "patient" and event.entity_id == patient.id
    assert event.coordinator_id is not None
    # The inbox item about the lock is done with it.
    alert = db.session.scalar(db.select(Alert).filter_by(kind="identity_locked"))
    assert alert.resolved_at is not None and alert.resolved_by_id == event.coordinator_id
    assert said(app, "prompts.voice.next_none") in key_in(twilio, app, "4321")


def test_after_the_lock_is_lifted_the_patient_has_five_tries_again(app, client, patient, twilio):
    lock(twilio, app)
    post_form(client, f"/patients/{patient.id}/phone-check", {}, page=f"/patients/{patient.id}")
    for _ in range(4):
        assert said(app, "prompts.voice.check_locked") not in key_in(twilio, app, "1111")
    assert said(app, "prompts.voice.check_locked") in key_in(twilio, app, "1111")
    db.session.expire_all()
    assert len(db.session.scalars(db.select(Alert).filter_by(kind="identity_locked")).all()) == 2


def test_the_button_needs_the_forms_token(app, client, patient, twilio):
    lock(twilio, app)
    response = client.post(f"/patients/{patient.id}/phone-check")
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.scalar(db.select(Contact.failed_checks).filter_by(phone=PHONE)) == 5
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="allow_phone_check")) is None


def test_allowing_a_check_that_is_not_locked_changes_nothing(app, client, patient):
    response = post_form(
        client,
        f"/patients/{patient.id}/phone-check",
        {},
        page=f"/patients/{patient.id}",
        follow_redirects=True,
    )
    assert "was not locked. Nothing changed." in response.get_data(as_text=True)
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="allow_phone_check")) is None
