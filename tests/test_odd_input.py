"""Odd but real input is kept: control characters, senders that are not numbers, size."""

from __future__ import annotations

import itertools

import pytest
from coordinator_support import make_coordinator, post_form, sign_in
from test_coordinator_patients import VALID
from twiml_helpers import texts_of

from navigator.extensions import db
from navigator.models import Alert, Contact, Message, Patient

PHONE = "+16175550143"
_sids = itertools.count(1)


def text(twilio, body: str, phone: str = PHONE):
    form = {
        "MessageSid": f"SM{next(_sids):032d}",
        "AccountSid": "AC" + "0" * 32,
        "From": phone,
        "To": "+12025550100",
        "Body": body,
    }
    response = twilio.post("/twilio/sms", form)
    assert response.status_code == 200
    return texts_of(response.data)


def test_a_warning_sign_with_a_nul_byte_is_stored_and_alerted(app, twilio):
    """Some carriers send the GSM "@" as a NUL byte: the text is kept, without it."""
    [advice] = text(twilio, "chest pain\x00")
    assert advice.startswith("Call 911 now.")
    [stored] = db.session.scalars(db.select(Message).filter_by(direction="in")).all()
    assert stored.body == "chest pain"
    assert [a.detail for a in db.session.scalars(db.select(Alert)).all()] == ["breathing_chest"]


def test_stop_with_control_characters_is_honoured(app, twilio):
    text(twilio, "STOP\x00\x07")
    contact = db.session.scalar(db.select(Contact).filter_by(phone=PHONE))
    assert contact.opted_out


def test_line_breaks_and_tabs_are_kept(app, twilio):
    text(twilio, "what is\ta biopsy\r\nthanks\x1b")
    [stored] = db.session.scalars(db.select(Message).filter_by(direction="in")).all()
    assert stored.body == "what is\ta biopsy\r\nthanks"


@pytest.mark.parametrize("sender", ["72345", "GOODPHARMA", "+999123456789"])
def test_a_text_from_a_sender_that_is_not_a_valid_number_is_recorded_screened_and_answered(
    app, twilio, sender
):
    """Short codes, alphanumeric senders and ranges newer than the number library's data
    are not dropped: the text is stored, a warning sign alerted, and general information
    (never a patient's own) sent back."""
    [advice] = text(twilio, "I have chest pain", phone=sender)
    assert advice.startswith("Call 911 now.")
    replies = text(twilio, "hello", phone=sender)
    assert replies and "Sorry" not in replies[0]
    stored = db.session.scalars(db.select(Message).filter_by(direction="in")).all()
    assert [m.phone for m in stored] == [sender, sender]
    [alert] = db.session.scalars(db.select(Alert)).all()
    assert alert.phone == sender and alert.patient_id is None


def test_a_nul_byte_in_the_coordinator_search_and_enrolment_is_no_error(app, client):
    make_coordinator()
    sign_in(client)
    searched = post_form(client, "/patients", {"q": "Ana\x00"})
    assert searched.status_code == 303  # the search is kept, then shown by a GET
    found = client.get(searched.headers["Location"])
    assert found.status_code == 200
    enrolled = post_form(client, "/patients/new", {**VALID, "name": "Ana\x00 Ruiz"})
    assert enrolled.status_code in (200, 302)
    [patient] = db.session.scalars(db.select(Patient)).all()
    assert patient.name == "Ana Ruiz"


def test_a_request_larger_than_the_limit_is_refused_before_it_is_read(app, twilio):
    response = twilio.post("/twilio/sms", {"MessageSid": "SM1", "Body": "x" * 2_000_000})
    assert response.status_code == 413
    assert db.session.scalars(db.select(Message)).all() == []
