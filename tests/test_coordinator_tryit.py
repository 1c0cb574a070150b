"""The try-it panel: signed posts to the real webhooks, and the TwiML read back."""

from __future__ import annotations

import re

import pytest
from coordinator_support import csrf_token, make_coordinator, sign_in

from navigator.coordinator.tryit import parse_twiml
from navigator.extensions import db
from navigator.models import AuditEvent, Message
from navigator.patients import NewPatient, enroll


@pytest.fixture
def nurse(app, client):
    coordinator = make_coordinator()
    sign_in(client)
    return coordinator


def post(client, path, data):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, "/try")})


def test_parse_twiml_reads_messages_speech_and_the_next_url():
    reply = parse_twiml(
        b'<?xml version="1.0"?><Response><Say voice="Polly.Joanna">'
        b'<prosody rate="90%">Hello.</prosody></Say>'
        b'<Gather action="/twilio/voice/choose?node=main&amp;miss=0" numDigits="1">'
        b"<Say>Press 1 for topics.</Say></Gather>"
        b'<Redirect method="POST">/twilio/voice/node?node=main&amp;miss=1</Redirect></Response>',
        "http://localhost/twilio/voice",
    )
    assert reply.lines == [("say", "Hello."), ("say", "Press 1 for topics.")]
    assert reply.gather_url == "http://localhost/twilio/voice/choose?node=main&miss=0"
    assert reply.silence_url == "http://localhost/twilio/voice/node?node=main&miss=1"
    assert reply.redirect_url is None and not reply.ended


def test_parse_twiml_reads_texts_and_the_end_of_a_call():
    texts = parse_twiml(
        b"<Response><Message>One</Message><Message><Body>Two</Body></Message></Response>",
        "http://x/twilio/sms",
    )
    assert texts.lines == [("text", "One"), ("text", "Two")]
    hung = parse_twiml(b"<Response><Say>Bye</Say><Hangup/></Response>", "http://x/")
    assert hung.ended
    dialled = parse_twiml(b"<Response><Dial>+16175550100</Dial></Response>", "http://x/")
    assert dialled.ended and "+16175550100" in dialled.lines[0][1]
    with_action = parse_twiml(
        b'<Response><Dial action="/twilio/voice/after-dial">+16175550100</Dial></Response>',
        "http://x/twilio/voice/person",
    )
    assert not with_action.ended
    assert with_action.dial_url == "http://x/twilio/voice/after-dial"


def test_a_text_goes_through_the_signed_sms_webhook_and_the_reply_is_shown(app, client, nurse):
    response = post(client, "/try/text", {"body": "HELP"})
    assert response.status_code == 302
    html = client.get("/try").get_data(as_text=True)
    assert "bubble--you" in html and "HELP" in html
    assert "bubble--text" in html and "webhook answered" not in html
    inbound = db.session.scalar(db.select(Message).filter_by(direction="in", channel="sms"))
    assert inbound.phone == "+12025550198" and inbound.body == "HELP"
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="try_text"))


def test_a_known_patient_texts_in_their_own_language(app, client, nurse):
    patient = enroll(NewPatient("Rosa Diaz", "+16175550150", "es", "America/New_York", "sms"))
    db.session.commit()
    post(client, "/try/as", {"caller": f"p:{patient.id}", "language": "en"})
    post(client, "/try/text", {"body": "MENU"})
    inbound = db.session.scalar(db.select(Message).filter_by(direction="in"))
    assert inbound.phone == "+16175550150"
    html = client.get("/try").get_data(as_text=True)
    assert f"patient #{patient.id}" in html


def _texts(html: str) -> list[str]:
    return re.findall(r'bubble--text"><span class="visually-hidden">[^<]*</span>([^<]*)</p>', html)


def test_an_unknown_caller_is_answered_in_the_language_chosen(app, client, nurse):
    post(client, "/try/as", {"caller": "u:en"})
    post(client, "/try/text", {"body": "MENU"})
    english = _texts(client.get("/try").get_data(as_text=True))
    post(client, "/try/as", {"caller": "u:es"})
    post(client, "/try/text", {"body": "MENU"})
    spanish = _texts(client.get("/try").get_data(as_text=True))
    assert english and spanish and english != spanish
    assert "Responda" in spanish[0] and "Responda" not in english[0]


def test_a_call_starts_and_a_keypad_press_follows_the_gather(app, client, nurse):
    post(client, "/try/call", {"action": "start"})
    first = client.get("/try").get_data(as_text=True)
    assert "(you call the navigator)" in first
    assert re.search(
        r'bubble--say"><span class="visually-hidden">Navigator says: </span>\w', first
    ), "the spoken prompt is shown as text"
    assert 'value="key:1"' in first
    post(client, "/try/call", {"action": "key:1"})
    second = client.get("/try").get_data(as_text=True)
    assert "(presses 1)" in second
    assert "webhook answered" not in second
    assert second.count("bubble--say") > first.count("bubble--say")


def test_hanging_up_ends_the_call(app, client, nurse):
    post(client, "/try/call", {"action": "start"})
    post(client, "/try/call", {"action": "hangup"})
    html = client.get("/try").get_data(as_text=True)
    assert "(you hang up)" in html and "Call the navigator" in html


def test_an_empty_text_is_refused(app, client, nurse):
    post(client, "/try/text", {"body": ""})
    assert "Type a message to send." in client.get("/try").get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 0


def test_pressing_0_rings_the_care_team_and_nobody_answering_leads_to_a_voicemail(
    app, client, nurse
):
    from navigator.models import Alert

    post(client, "/try/call", {"action": "start"})
    post(client, "/try/call", {"action": "key:1"})  # English
    post(client, "/try/call", {"action": "key:0"})  # a person
    html = client.get("/try").get_data(as_text=True)
    assert "(connects the call to a person" in html and "Nobody answers" in html
    post(client, "/try/call", {"action": "dial-missed"})
    html = client.get("/try").get_data(as_text=True)
    assert "(nobody answers)" in html and "Finish the voicemail" in html
    post(client, "/try/call", {"action": "record"})
    alert = db.session.scalar(db.select(Alert).filter_by(kind="voicemail"))
    assert alert is not None and alert.phone == "+12025550198"
