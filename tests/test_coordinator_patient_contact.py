"""A nurse answers the patient from the app: a text (typed or saved) and a call through."""

from __future__ import annotations

from html import unescape
from urllib.parse import urlsplit

import pytest
from coordinator_support import post_form, signed_in_nurse
from twilio_signing import TwilioSigner
from twiml_helpers import parse

from navigator.extensions import db
from navigator.models import AuditEvent, Contact, Message, utcnow

nurse = pytest.fixture(signed_in_nurse, name="nurse")

PHONE = "+16175552143"


@pytest.fixture
def patient(new_patient):
    return new_patient(phone=PHONE, name="Rosa Díaz", language="es")


def page(client, patient) -> str:
    return unescape(client.get(f"/patients/{patient.id}/contact").get_data(as_text=True))


def test_a_typed_text_goes_through_twilio_and_shows_on_the_timeline_with_its_status(
    app, client, nurse, patient, fake_twilio, written_logs
):
    response = post_form(
        client,
        f"/patients/{patient.id}/text",
        {"template": "", "body": "Hola Rosa, la llamo a las 3."},
        page=f"/patients/{patient.id}/contact",
    )
    assert response.status_code == 302
    [sent] = fake_twilio.accepted("sms")
    assert (sent.to, sent.body) == (PHONE, "Hola Rosa, la llamo a las 3.")
    message = db.session.scalar(db.select(Message).filter_by(content_key="coordinator.text"))
    assert message.coordinator_id == nurse.id and message.status == "queued"
    timeline = unescape(client.get(f"/patients/{patient.id}").get_data(as_text=True))
    assert "Hola Rosa, la llamo a las 3." in timeline and "queued" in timeline
    audit = db.session.scalar(db.select(AuditEvent).filter_by(action="text_patient"))
    assert audit.patient_id == patient.id and "Hola" not in audit.detail
    assert "Hola Rosa" not in written_logs.getvalue()


def test_a_saved_text_goes_in_the_patients_language(app, client, nurse, patient, fake_twilio):
    html = page(client, patient)
    assert "Por favor llámenos cuando pueda" in html
    post_form(
        client,
        f"/patients/{patient.id}/text",
        {"template": "call_us", "body": ""},
        page=f"/patients/{patient.id}/contact",
    )
    [sent] = fake_twilio.accepted("sms")
    assert sent.body.startswith("Hope Clinic Navigator: Por favor llámenos cuando pueda")
    assert "(617) 555-0100" in sent.body


def test_an_empty_text_is_refused_at_the_field_and_nothing_is_sent(
    app, client, nurse, patient, fake_twilio
):
    response = post_form(
        client,
        f"/patients/{patient.id}/text",
        {"template": "", "body": "  "},
        page=f"/patients/{patient.id}/contact",
    )
    assert response.status_code == 422
    assert "Type a text, or choose a saved one." in response.get_data(as_text=True)
    assert fake_twilio.accepted() == []


def test_a_number_that_opted_out_is_neither_texted_nor_called_and_the_page_says_why(
    app, client, nurse, patient, fake_twilio
):
    contact = db.session.scalar(db.select(Contact).filter_by(phone=PHONE))
    contact.opted_out_at = utcnow()
    db.session.commit()
    assert "Nothing can be sent." in page(client, patient)
    text = post_form(
        client,
        f"/patients/{patient.id}/text",
        {"template": "call_us"},
        page=f"/patients/{patient.id}/contact",
    )
    call = post_form(
        client,
        f"/patients/{patient.id}/call",
        {"my_phone": "(617) 555-3000"},
        page=f"/patients/{patient.id}/contact",
    )
    assert (text.status_code, call.status_code) == (409, 409)
    assert "opted out" in text.get_data(as_text=True)
    assert fake_twilio.accepted() == []


def test_a_call_rings_the_nurse_first_then_connects_the_patient_from_the_navigator_number(
    app, client, nurse, patient, fake_twilio
):
    response = post_form(
        client,
        f"/patients/{patient.id}/call",
        {"my_phone": "(617) 555-3000"},
        page=f"/patients/{patient.id}/contact",
    )
    assert response.status_code == 302
    [leg] = fake_twilio.accepted("call")
    assert leg.to == "+16175553000"
    assert PHONE not in leg.url  # the patient's number is never in a URL
    db.session.expire_all()
    assert nurse.phone == "+16175553000"  # offered next time
    twilio = TwilioSigner(client, base_url="https://navigator.example.org")
    answered = twilio.post(
        urlsplit(leg.url).path,
        {"CallSid": leg.sid, "To": "+16175553000", "CallStatus": "in-progress"},
    )
    dial = parse(answered.data).find("Dial")
    assert dial.text.strip() == PHONE
    assert dial.get("callerId") == "+12025550100"
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="call_patient"))


def test_in_the_embedded_mode_a_call_goes_to_the_outbox(app, client, nurse, patient):
    post_form(
        client,
        f"/patients/{patient.id}/call",
        {"my_phone": "(617) 555-3000"},
        page=f"/patients/{patient.id}/contact",
    )
    leg = db.session.scalar(db.select(Message).filter_by(content_key="coordinator.call"))
    assert (leg.transport, leg.phone, leg.channel) == ("outbox", "+16175553000", "voice")


def test_a_bridge_webhook_without_twilios_signature_is_refused(app, client, patient):
    assert client.post("/twilio/coordinator-call/1").status_code == 403


def test_the_patients_reply_lands_in_the_same_thread_after_the_nurses_text(
    app, client, nurse, patient, twilio
):
    post_form(
        client,
        f"/patients/{patient.id}/text",
        {"template": "", "body": "Can you come at 2 instead?"},
        page=f"/patients/{patient.id}/contact",
    )
    twilio.post(
        "/twilio/sms",
        {"MessageSid": "SM" + "8" * 32, "From": PHONE, "To": "+12025550100", "Body": "Si, a las 2"},
    )
    timeline = unescape(client.get(f"/patients/{patient.id}").get_data(as_text=True))
    assert timeline.index("Si, a las 2") < timeline.index(
        "Can you come at 2 instead?"
    )  # newest first
    assert "Text to patient from Nora Nurse" in timeline
