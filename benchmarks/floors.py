"""The two floors the webhook benchmark measures the navigator against (served by gunicorn).

``fixed`` answers every webhook with the same TwiML and does nothing else: what Flask and
gunicorn cost on this machine, for reference.

``stateful`` is the least a webhook that keeps what it is sent can do, written the way
Twilio's own samples write it: it checks the signature with the SDK's RequestValidator,
stores the text (or call step) and reads the caller's state in ONE statement on
PostgreSQL, committed durably (autocommit, ``synchronous_commit`` left on), and answers
with the SDK's TwiML classes. The navigator must keep up with this one (docs/benchmarks.md).

Needs ``DATABASE_URL`` (with the tables of ``SCHEMA``) and ``TWILIO_AUTH_TOKEN``.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import Gather, VoiceResponse

fixed = Flask("fixed")
stateful = Flask("stateful")

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Hello</Message></Response>'

#: The stateful floor's tables: the messages it was sent, and each caller's state.
SCHEMA = [
    """CREATE TABLE floor_messages (
         id bigserial PRIMARY KEY, sid text NOT NULL UNIQUE, phone text NOT NULL,
         body text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())""",
    """CREATE TABLE floor_callers (
         phone text PRIMARY KEY, menu_node text NOT NULL DEFAULT 'main',
         language text NOT NULL DEFAULT 'en')""",
    """INSERT INTO floor_callers (phone)
         SELECT '+1617555' || lpad(n::text, 4, '0') FROM generate_series(1000, 1999) AS n""",
]

#: Store the message once (a retried SID changes nothing) and read the caller's state.
RECORD_AND_READ = sa.text("""
    WITH stored AS (
        INSERT INTO floor_messages (sid, phone, body) VALUES (:sid, :phone, :body)
        ON CONFLICT (sid) DO NOTHING RETURNING id
    )
    SELECT (SELECT id FROM stored) AS message_id, c.menu_node, c.language
      FROM (SELECT CAST(:phone AS text) AS phone) AS sender
      LEFT JOIN floor_callers AS c ON c.phone = sender.phone
""")


@fixed.post("/twilio/sms")
@fixed.post("/twilio/voice")
@fixed.post("/twilio/voice/choose")
def fixed_twiml():
    return Response(TWIML, mimetype="text/xml")


def _engine():
    """Made on first use in each gunicorn worker (never shared across a fork)."""
    engine = stateful.extensions.get("engine")
    if engine is None:
        url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        stateful.extensions["engine"] = engine
    return engine


def _record_and_read(sid: str, body: str):
    validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
    signature = request.headers.get("X-Twilio-Signature", "")
    if not validator.validate(request.url, request.form.to_dict(flat=True), signature):
        abort(403)
    params = {"sid": sid, "phone": request.form.get("From", ""), "body": body}
    with _engine().connect() as conn:
        return conn.execute(RECORD_AND_READ, params).one()


@stateful.post("/twilio/sms")
def stateful_sms():
    state = _record_and_read(request.form["MessageSid"], request.form.get("Body", ""))
    response = MessagingResponse()
    response.message(f"You are at {state.menu_node} ({state.language}). Reply MENU for topics.")
    return Response(str(response), mimetype="text/xml")


@stateful.post("/twilio/voice")
@stateful.post("/twilio/voice/choose")
def stateful_voice():
    step = request.form["CallSid"] + ":" + request.path + ":" + request.form.get("Digits", "")
    state = _record_and_read(step, request.form.get("Digits", ""))
    response = VoiceResponse()
    gather = Gather(input="dtmf speech", action="/twilio/voice/choose", num_digits=1)
    gather.say(f"You are at {state.menu_node}. Press 1 for topics.", language="en-US")
    response.append(gather)
    return Response(str(response), mimetype="text/xml")
