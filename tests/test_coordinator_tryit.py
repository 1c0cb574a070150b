"""The try-it panel: signed posts to the real webhooks, and the TwiML read back."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from coordinator_support import csrf_token, make_coordinator, sign_in
from werkzeug.security import check_password_hash

from navigator.coordinator.tryit import parse_twiml
from navigator.core.phones import is_fictional
from navigator.extensions import db
from navigator.models import Alert, AuditEvent, Contact, Message, Patient
from navigator.patients import practice
from navigator.patients.appointments import local_start
from navigator.patients.enrolment import NewPatient, enroll


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


def make_practice_patient(client, language="en") -> Patient:
    response = post(client, "/try/practice", {"language": language})
    assert response.status_code == 302
    return db.session.scalars(db.select(Patient).order_by(Patient.id.desc())).first()


def test_a_practice_patient_is_made_in_one_click_with_sample_appointments(app, client, nurse):
    patient = make_practice_patient(client, "es")
    assert patient.name == "Practice patient 1" and patient.language == "es"
    assert is_fictional(patient.phone) and patient.phone.startswith("+1202555")
    [consent] = patient.consents
    assert consent.method == "practice record, not a person"
    assert consent.obtained_by == "nurse@clinic.test"
    today = datetime.now(ZoneInfo(app.config["SITE_TIMEZONE"])).date()
    starts = [(a.kind, local_start(a)) for a in patient.appointments]
    assert [(kind, (at.date() - today).days, at.hour) for kind, at in starts] == [
        ("ct", 3, 10),
        ("biopsy", 8, 14),
    ]
    assert {a.location for a in patient.appointments} == {practice.FALLBACK_LOCATION}
    assert check_password_hash(patient.pin_hash, practice.PIN)
    assert patient.date_of_birth == practice.BIRTH_DATE
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="create_practice_patient"))
    assert event.entity_id == patient.id and event.coordinator_id == nurse.id
    html = client.get("/try").get_data(as_text=True)
    assert "Practice patient 1 ((202) 555-01" in html and 'selected value="p:' in html
    assert "patient #" not in html
    assert f"PIN {practice.PIN}" in html and "press 03141960" in html


def test_each_practice_patient_gets_a_number_of_their_own(app, client, nurse):
    first = make_practice_patient(client)
    second = make_practice_patient(client)
    assert second.name == "Practice patient 2"
    assert len({first.phone, second.phone, *practice.UNKNOWN_CALLERS.values()}) == 4
    assert app.config["TWILIO_PHONE_NUMBER"] not in (first.phone, second.phone)


def test_real_patients_are_not_offered_and_cannot_be_chosen(app, client, nurse):
    real = enroll(NewPatient("Rosa Diaz", "+16175552150", "es", "America/New_York", "sms"))
    db.session.commit()
    html = client.get("/try").get_data(as_text=True)
    assert "Rosa Diaz" not in html and "Real patients are not offered here" in html
    post(client, "/try/as", {"caller": f"p:{real.id}"})
    post(client, "/try/text", {"body": "STOP"})
    inbound = db.session.scalar(db.select(Message).filter_by(direction="in"))
    assert inbound.phone == practice.UNKNOWN_CALLERS["en"]
    assert not db.session.scalar(db.select(Contact).filter_by(phone=real.phone)).opted_out


def test_a_practice_patient_texts_in_their_own_language(app, client, nurse):
    patient = make_practice_patient(client, "es")
    post(client, "/try/text", {"body": "MENU"})
    inbound = db.session.scalar(db.select(Message).filter_by(direction="in"))
    assert inbound.phone == patient.phone and inbound.patient_id == patient.id
    assert "Responda" in _texts(client.get("/try").get_data(as_text=True))[0]


def test_nothing_the_panel_does_reaches_twilio_even_with_an_account(
    app, client, nurse, fake_twilio
):
    """STOP, a confirmation and texts asked for on a call stay with the practice record."""
    patient = make_practice_patient(client)
    post(client, "/try/text", {"body": "C"})
    for key in ("start", "key:1", "key:2", "key:2", "key:7"):  # English, tests, biopsy, text me
        post(client, "/try/call", {"action": key})
    post(client, "/try/call", {"action": "hangup"})
    post(client, "/try/as", {"caller": "u:en"})
    for key in ("start", "key:1", "key:2", "key:2", "key:7"):
        post(client, "/try/call", {"action": key})
    post(client, "/try/text", {"body": "STOP"})
    sent = db.session.scalars(
        db.select(Message).where(Message.direction == "out", Message.transport != "reply")
    ).all()
    texted = {(m.phone, m.content_key) for m in sent}
    assert (patient.phone, "prompts.sms.start") in texted
    assert (patient.phone, "topics.biopsy.text") in texted
    assert (practice.UNKNOWN_CALLERS["en"], "topics.biopsy.text") in texted
    assert {m.transport for m in sent} == {"outbox"}
    assert fake_twilio.received == []
    assert db.session.scalar(
        db.select(Contact).filter_by(phone=practice.UNKNOWN_CALLERS["en"])
    ).opted_out


def test_the_pin_shown_passes_the_phone_identity_check(app, client, nurse):
    make_practice_patient(client)
    for key in ("start", "key:1", "key:1"):  # English, my next visit
        post(client, "/try/call", {"action": key})
    post(client, "/try/call", {"action": "key:", "digits": practice.PIN})
    said = " ".join(re.findall(r"Navigator says: </span>([^<]*)</p>", client.get("/try").text))
    assert f"at {practice.FALLBACK_LOCATION}." in said


def test_practice_patients_and_their_inbox_items_are_marked_practice(app, client, nurse):
    patient = make_practice_patient(client)
    enroll(NewPatient("Rosa Diaz", "+16175552150", "en", "America/New_York", "sms"))
    db.session.commit()
    listed = client.get("/patients").get_data(as_text=True)
    assert re.search(rf"{patient.name}</a> <span class=\"tag\">Practice</span>", listed)
    assert not re.search(r"Rosa Diaz</a> <span", listed)
    post(client, "/try/text", {"body": "I have a fever"})
    inbox = client.get("/inbox").get_data(as_text=True)
    assert db.session.scalar(db.select(Alert).filter_by(patient_id=patient.id))
    assert re.search(rf"{patient.name}</a>[^<]*<span class=\"tag\">Practice</span>", inbox)


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


def test_an_empty_text_is_refused_next_to_the_field(app, client, nurse):
    response = post(client, "/try/text", {"body": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'<p class="error" id="body-error">.*Type a message to send\.</p>', html)
    field = re.search(r"<input[^>]*id=\"body\"[^>]*>", html).group(0)
    assert 'aria-invalid="true"' in field and 'aria-describedby="body-error"' in field
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 0


def test_a_text_too_long_is_refused_and_what_was_typed_is_kept(app, client, nurse):
    typed = "word " * 330
    response = post(client, "/try/text", {"body": typed})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Keep a text to 1600 characters or fewer." in html
    assert f'value="{typed}"' in html
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
