"""What every webhook shares: the signature over the public URL, and safe failure logs."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from twilio.twiml.messaging_response import MessagingResponse
from twilio_signing import TwilioSigner
from twiml_helpers import texts_of

from navigator.extensions import db
from navigator.telephony.twiml import messages_xml, xml

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
