"""Outbound texts and calls through the real Twilio SDK, against a fake Twilio API over HTTP."""

from __future__ import annotations

import socket

import pytest

from navigator.extensions import db
from navigator.models import Message
from navigator.telephony import outbound

TO = "+16175552143"  # not 555-01xx: fictional numbers never reach Twilio


def test_a_text_goes_through_the_sdk_and_is_recorded_with_its_sid(app, fake_twilio):
    message = outbound.send_sms(TO, "Hello from the clinic", content_key="test.key")
    db.session.commit()
    [received] = fake_twilio.accepted("sms")
    assert (received.to, received.sender, received.body) == (
        TO,
        "+12025550100",
        "Hello from the clinic",
    )
    assert received.status_callback == "https://navigator.example.org/twilio/status"
    assert message.provider_sid == received.sid and received.sid.startswith("SM")
    assert (message.transport, message.status, message.direction) == ("twilio", "queued", "out")


def test_without_a_twilio_account_a_text_goes_to_the_local_outbox(app, fake_twilio):
    app.config["TWILIO_ACCOUNT_SID"] = ""
    message = outbound.send_sms(TO, "Hello from the clinic")
    db.session.commit()
    assert fake_twilio.received == []
    assert message.transport == "outbox" and message.provider_sid.startswith("OS")


@pytest.mark.parametrize(("status", "code"), [(500, None), (503, 20500), (429, 20429)])
def test_server_errors_and_throttling_are_temporary(app, fake_twilio, status, code):
    fake_twilio.fail_next(status, code)
    with pytest.raises(outbound.SendError) as caught:
        outbound.send_sms(TO, "Hello")
    assert (caught.value.status, caught.value.permanent) == (status, False)
    failed = db.session.scalar(db.select(Message))
    assert (failed.status, failed.provider_sid) == ("failed", None)


@pytest.mark.parametrize("code", [21610, 21211, 21614])
def test_unsubscribed_invalid_and_landline_numbers_are_permanent(app, fake_twilio, code):
    fake_twilio.fail_next(400, code)
    with pytest.raises(outbound.SendError) as caught:
        outbound.send_sms(TO, "Hello")
    assert (caught.value.code, caught.value.status, caught.value.permanent) == (code, 400, True)
    assert db.session.scalar(db.select(Message)).error_code == str(code)


def _closed_port() -> int:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        return unused.getsockname()[1]


def test_a_network_failure_is_temporary(app, fake_twilio):
    app.config["TWILIO_API_URL"] = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(outbound.SendError) as caught:
        outbound.send_sms(TO, "Hello")
    assert caught.value.permanent is False and caught.value.status is None


def test_a_call_asks_twilio_to_fetch_our_twiml_and_report_its_status(app, fake_twilio):
    message = outbound.place_call(
        TO,
        "https://navigator.example.org/twilio/reminder-call/7",
        status_callback="https://navigator.example.org/s",
    )
    [received] = fake_twilio.accepted("call")
    assert received.url == "https://navigator.example.org/twilio/reminder-call/7"
    assert received.status_callback == "https://navigator.example.org/s"
    assert message.channel == "voice" and message.provider_sid.startswith("CA")


def test_a_send_we_are_unsure_of_is_found_at_twilio_by_number_and_words(app, fake_twilio):
    sent = outbound.prepare_sms(TO, "Visit Thu at 2 PM")
    db.session.commit()
    sid, _ = outbound.request_twilio("sms", TO, "Visit Thu at 2 PM")
    outbound.request_twilio("sms", TO, "Some other text")
    assert outbound.find_sent(sent) == sid


def test_a_send_that_never_reached_twilio_is_not_found(app, fake_twilio):
    known = outbound.send_sms(TO, "Visit Thu at 2 PM")  # the same words, already recorded
    unsure = outbound.prepare_sms(TO, "Visit Thu at 2 PM")
    db.session.commit()
    assert known.provider_sid
    assert outbound.find_sent(unsure) is None


def test_a_failed_lookup_is_an_error_not_a_silent_none(app, fake_twilio):
    unsure = outbound.prepare_sms(TO, "Visit Thu at 2 PM")
    app.config["TWILIO_API_URL"] = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(outbound.SendError):
        outbound.find_sent(unsure)


def test_texts_and_calls_to_fictional_numbers_stay_in_the_outbox_even_with_twilio(app, fake_twilio):
    """555-0100 to 555-0199 belong to practice patients and the try-it panel: never sent."""
    text = outbound.send_sms("+16175550150", "Practice")
    call = outbound.place_call("+16175550150", "https://navigator.example.org/twilio/x")
    db.session.commit()
    assert (text.transport, call.transport) == ("outbox", "outbox")
    assert text.provider_sid.startswith("OS") and call.provider_sid.startswith("OC")
    assert fake_twilio.received == []
    lists = fake_twilio.list_requests
    assert outbound.find_sent(text) is None and fake_twilio.list_requests == lists
