"""What every webhook shares: the signature over the public URL, and safe failure logs."""

from __future__ import annotations

import flask
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import Gather, VoiceResponse
from twilio_signing import TwilioSigner
from twiml_helpers import texts_of

from navigator.catalog import catalog
from navigator.channels import call_kit, reminder_calls, voice
from navigator.core import menus
from navigator.core.content import LANGUAGES
from navigator.extensions import db
from navigator.telephony.twiml import messages_xml, written, xml

CALL = {"CallSid": "CA" + "1" * 32, "From": "+16175550143", "To": "+12025550100"}
PROXY_HEADERS = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "nav.example.org",
    "X-Forwarded-For": "203.0.113.9",
}
INSIDE = "http://10.0.0.5:8000"  # the address the proxy forwards to


@pytest.fixture
def proxied(app_with):
    return app_with(TRUSTED_PROXIES=1).test_client()


def test_behind_a_trusted_proxy_a_request_signed_over_the_public_https_url_passes(proxied):
    signed = TwilioSigner(proxied, base_url="https://nav.example.org")
    response = signed.post("/twilio/voice", CALL, headers=PROXY_HEADERS, base_url=INSIDE)
    assert response.status_code == 200
    assert response.mimetype == "text/xml"


def test_behind_a_trusted_proxy_a_request_signed_over_another_url_is_refused(proxied):
    for base_url in ("https://other.example.org", INSIDE, "http://nav.example.org"):
        signed = TwilioSigner(proxied, base_url=base_url)
        response = signed.post("/twilio/voice", CALL, headers=PROXY_HEADERS, base_url=INSIDE)
        assert response.status_code == 403, base_url


def test_without_trusted_proxies_forwarded_headers_are_not_believed(client):
    """Anyone can send X-Forwarded-Host; only a configured proxy's word counts."""
    signed = TwilioSigner(client, base_url="https://nav.example.org")
    response = signed.post("/twilio/voice", CALL, headers=PROXY_HEADERS, base_url=INSIDE)
    assert response.status_code == 403


@pytest.fixture
def failing_message_inserts(app):
    """The database refuses to store a text, quoting the row as PostgreSQL does.

    On PostgreSQL the table itself refuses (a CHECK that no row passes), so the hot path's
    direct driver statements meet it too; on SQLite a statement hook refuses the insert.
    """

    def refuse(conn, cursor, statement, parameters, context, executemany):
        if "insert into messages" in " ".join(statement.lower().split()):
            dbapi = conn.dialect.loaded_dbapi
            raise dbapi.IntegrityError(f"Failing row contains {parameters!r}")

    if db.engine.dialect.name != "postgresql":
        event.listen(Engine, "before_cursor_execute", refuse)
        yield
        event.remove(Engine, "before_cursor_execute", refuse)
        return
    with db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE messages ADD CONSTRAINT refuse_all CHECK (false) NOT VALID"))
    yield
    with db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE messages DROP CONSTRAINT refuse_all"))


def test_a_text_the_database_fails_to_store_leaves_no_trace_of_its_words_in_the_logs(
    twilio, app, written_logs, failing_message_inserts
):
    body = "I found a new lump, this is Maria Lopez, born 3/4/1961"
    response = twilio.post(
        "/twilio/sms",
        {"MessageSid": "SM" + "7" * 32, "From": "+16175550143", "To": "+12025550100", "Body": body},
    )
    assert response.status_code == 200
    assert texts_of(response.data)  # the advice or the apology still went out
    logged = written_logs.getvalue()
    assert "could not store sms" in logged and "kept in the spool" in logged
    # what failed, for whoever reads the logs (PostgreSQL names the kind of integrity error)
    assert "IntegrityError" in logged or "CheckViolation" in logged
    for private in ("lump", "Maria", "Lopez", "1961", "6175550143"):
        assert private not in logged


@pytest.mark.parametrize(
    "texts",
    [
        [],
        ["Reply 1 for tests & scans <now>, or MENU > more"],
        ["¿Qué es una biopsia?", "", "two\n\nlines \"quoted\" 'single'"],
    ],
)
def test_replies_to_a_text_are_written_as_the_sdk_writes_them(app, texts):
    sdk = MessagingResponse()
    for words in texts:
        sdk.message(words)
    assert messages_xml(texts).get_data() == xml(sdk).get_data()
    assert messages_xml(texts).mimetype == "text/xml"


# -- TwiML for calls, written as the SDK writes it ------------------------------------------


def _same_as_the_sdk(twiml) -> None:
    assert written(twiml) == str(twiml)


def test_every_menu_node_spoken_on_a_call_is_written_as_the_sdk_writes_it(app):
    """Every node, every spoken part, both languages, with and without the no-input lead
    and words said before it: the bytes a caller's phone gets are the SDK's bytes."""
    content = catalog()
    with app.test_request_context("/twilio/voice/node", method="POST"):
        for language in LANGUAGES:
            for node in menus.walk(content):
                for page in range(menus.page_count(content, node, language, channel="voice")):
                    here = menus.Position(node, page)
                    _same_as_the_sdk(voice.render_node(here, language, miss=0))
                    _same_as_the_sdk(
                        voice.render_node(
                            here, language, miss=1, lead="prompts.voice.no_input", before=["&<>"]
                        )
                    )


def test_the_steps_every_call_shares_are_written_as_the_sdk_writes_them(app):
    with app.test_request_context("/twilio/voice", method="POST"):
        _same_as_the_sdk(voice.apology())
        _same_as_the_sdk(reminder_calls.apology())
        for language in LANGUAGES:
            _same_as_the_sdk(call_kit.end_call(language, ["Adiós & gracias", "<bye>"]))
            _same_as_the_sdk(call_kit.hang_up())
            urls = {"recorded": "/r?a=1&b=2", "goodbye": "Goodbye & take care"}
            _same_as_the_sdk(call_kit.voicemail(VoiceResponse(), language, **urls))
            _same_as_the_sdk(
                call_kit.put_through(VoiceResponse(), language, after_dial="/d", **urls)
            )


@pytest.mark.parametrize(
    "path, form",
    [
        ("/twilio/voice", {}),
        ("/twilio/voice/language", {"Digits": "2"}),
        ("/twilio/voice/choose?node=main&miss=0", {"Digits": "3"}),
        ("/twilio/voice/choose?node=main&miss=0", {"SpeechResult": "what is HER2"}),
        ("/twilio/voice/choose?node=main&miss=0", {"SpeechResult": "I have a fever of 102"}),
        ("/twilio/voice/node?node=main&miss=2", {}),
        ("/twilio/voice/person", {}),
        ("/twilio/voice/after-dial", {"DialCallStatus": "no-answer"}),
    ],
)
def test_each_step_of_a_call_answers_with_the_bytes_the_sdk_would_write(
    twilio, monkeypatch, path, form
):
    """Whatever a step builds goes through ``twiml.xml``; each is checked on its way out."""
    answered = []

    def checked(twiml):
        answered.append(twiml)
        return xml(twiml)

    monkeypatch.setattr(voice, "xml", checked)
    response = twilio.post(path, {**CALL, **form})
    assert response.status_code == 200
    assert answered and response.get_data(as_text=True) == str(answered[-1])


def test_what_twiml_escapes_and_how_it_writes_empty_and_mixed_elements():
    response = VoiceResponse()
    response.say('tabs\tquotes " and <tags> & lines\r\n', voice="Polly.Lupe", language="es-US")
    gather = Gather(action='/x?a=1&b="2"\n', input="dtmf speech", action_on_empty_result=False)
    gather.append("text before ")
    gather.say("")
    gather.append("text after & more")
    gather.append(" twice: only the last text after a child stays")
    response.append(gather)
    response.pause(length=2)
    response.add_child("Custom", value={"json": "value & more"}, flag=True)
    response.append("tail")
    response.hangup()
    _same_as_the_sdk(response)
    _same_as_the_sdk(VoiceResponse())
    lone_surrogate = VoiceResponse()
    lone_surrogate.say("\udc80")
    assert written(lone_surrogate) == str(lone_surrogate)


def test_twilio_webhooks_open_no_session_while_the_coordinators_pages_do(app):
    """Twilio keeps no cookie: a session on a webhook would only cost each text a read and
    a save (and could never hold anything a later request reads)."""
    interface = app.session_interface
    for path in ("/twilio/sms", "/twilio/voice/choose", "/twilio/reminder-call/1"):
        with app.test_request_context(path, method="POST"):
            assert interface.is_null_session(interface.open_session(app, flask.request)), path
    with app.test_request_context("/sign-in"):
        assert not interface.is_null_session(interface.open_session(app, flask.request))
