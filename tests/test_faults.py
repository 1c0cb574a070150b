"""The fault suite: a warning sign is never lost, whatever the database does.

Each test is a fault a hospital's IT team would try before go-live: the database refusing
connections, accepting and never answering, restarting under load (its connections
terminated), failing a text's effects once; and Twilio posting the same step twice.
Tests that need PostgreSQL's own tools (terminating backends, a trigger that fails once)
are marked ``postgres_only``; the rest run on both databases.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from twilio_signing import TwilioSigner
from twiml_helpers import dial, gather, spoken, texts_of

from navigator import scheduler
from navigator.channels import durable_inbound
from navigator.extensions import db
from navigator.models import Alert, Message, utcnow

PHONE = "+16175550143"
WARNING = "I have chest pain"
ADVICE = "Call 911 now."  # how the advice for chest pain begins (messages/en/redflags.yaml)
APOLOGY = "Sorry"
#: Well within Twilio's 15 s: a connect limit of 3 s and a few steps.
ANSWER_WITHIN = 10.0
_sids = itertools.count(1)


def sms_form(body: str, sid: str | None = None, phone: str = PHONE) -> dict:
    return {
        "MessageSid": sid or f"SM{next(_sids):032d}",
        "AccountSid": "AC" + "0" * 32,
        "From": phone,
        "To": "+12025550100",
        "Body": body,
        "NumMedia": "0",
    }


def timed_post(signer: TwilioSigner, path: str, form: dict, query: dict | None = None):
    """Post in a thread; fail if no answer comes within ANSWER_WITHIN seconds."""
    result = {}

    def run():
        result["response"] = signer.post(path, form, query)

    worker = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(ANSWER_WITHIN)
    assert not worker.is_alive(), f"no answer within {ANSWER_WITHIN} s"
    response = result["response"]
    assert response.status_code == 200 and response.mimetype == "text/xml"
    return response, time.monotonic() - started


@pytest.fixture
def closed_port():
    """A local port where nothing listens: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_server():
    """A local server that accepts connections and never says a word (a hung database)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    for connection in accepted:
        connection.close()
    server.close()


def database_at(port: int) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/navigator"


def outage_app(app_with, port: int):
    return app_with(SQLALCHEMY_DATABASE_URI=database_at(port))


def red_flag_alerts() -> list[Alert]:
    db.session.expire_all()
    return db.session.scalars(db.select(Alert).filter_by(kind="red_flag")).all()


def inbound_texts() -> list[Message]:
    db.session.expire_all()
    return db.session.scalars(db.select(Message).filter_by(direction="in", channel="sms")).all()


# -- the database refuses, or accepts and never answers -------------------------------


@pytest.mark.parametrize("fault", ["refuses connections", "accepts and never answers"])
def test_a_warning_sign_gets_its_advice_at_once_when_the_database_is_down(
    app, app_with, closed_port, silent_server, fault
):
    """The safety advice never waits for the database: a text saying "chest pain" is
    answered with what to do, in seconds, whether the server refuses or hangs."""
    down = outage_app(app_with, closed_port if fault == "refuses connections" else silent_server)
    response, seconds = timed_post(
        TwilioSigner(down.test_client()), "/twilio/sms", sms_form(WARNING)
    )
    [advice] = texts_of(response.data)
    assert advice.startswith(ADVICE)
    assert seconds < ANSWER_WITHIN


@pytest.mark.parametrize("fault", ["refuses connections", "accepts and never answers"])
def test_a_text_sent_during_an_outage_is_stored_and_alerted_once_when_the_database_returns(
    app, app_with, closed_port, silent_server, fault
):
    """Nothing is lost: the texts wait in the spool and reach the inbox once, even when the
    spool is drained twice and Twilio posts one of them again after the outage."""
    down = outage_app(app_with, closed_port if fault == "refuses connections" else silent_server)
    signer = TwilioSigner(down.test_client())
    warning = sms_form(WARNING)
    question = sms_form("what is a biopsy")
    timed_post(signer, "/twilio/sms", warning)
    response, _ = timed_post(signer, "/twilio/sms", question)
    assert texts_of(response.data)[0].startswith(APOLOGY)
    assert [step["sid"] for step in durable_inbound.spool().steps()] == [
        warning["MessageSid"],
        question["MessageSid"],
    ]

    assert durable_inbound.drain() == (2, 0)
    assert durable_inbound.drain() == (0, 0)
    TwilioSigner(app.test_client()).post("/twilio/sms", warning)  # Twilio's late retry

    assert sorted(m.provider_sid for m in inbound_texts()) == sorted(
        [warning["MessageSid"], question["MessageSid"]]
    )
    [alert] = red_flag_alerts()
    assert alert.phone == PHONE and alert.detail == "breathing_chest"
    assert not durable_inbound.spool().waiting()


def test_the_worker_stores_what_the_spool_kept(app, app_with, closed_port):
    """The reminder worker's tick drains the spool, so texts kept during an outage reach
    the inbox even if no other text comes in."""
    timed_post(
        TwilioSigner(outage_app(app_with, closed_port).test_client()),
        "/twilio/sms",
        sms_form(WARNING),
    )
    scheduler.tick(app, "faults")
    assert len(red_flag_alerts()) == 1
    assert not durable_inbound.spool().waiting()


def test_a_spoken_warning_sign_gets_its_advice_and_the_care_team_when_the_database_is_down(
    app, app_with, closed_port
):
    """A caller who says "chest pain" hears what to do and is put through to the care team,
    and the words reach the inbox when the database is back."""
    down = outage_app(app_with, closed_port)
    form = {"CallSid": "CA" + "1" * 32, "From": PHONE, "SpeechResult": WARNING, "Digits": ""}
    response, _ = timed_post(
        TwilioSigner(down.test_client()), "/twilio/voice/choose", form, {"node": "main", "miss": 0}
    )
    assert spoken(response.data).startswith(ADVICE)
    assert dial(response.data).text.strip() == "+16175550100"
    durable_inbound.drain()
    durable_inbound.drain()
    assert [a.detail for a in red_flag_alerts()] == ["breathing_chest"]


def test_a_voicemail_left_during_an_outage_reaches_the_inbox_once(app, app_with, closed_port):
    down = outage_app(app_with, closed_port)
    form = {
        "CallSid": "CA" + "2" * 32,
        "From": PHONE,
        "RecordingUrl": "https://api.twilio.com/recordings/RE1",
        "RecordingSid": "RE" + "1" * 32,
        "RecordingDuration": "14",
    }
    response, _ = timed_post(TwilioSigner(down.test_client()), "/twilio/voice/recorded", form)
    assert "Thank you" in spoken(response.data)
    durable_inbound.drain()
    TwilioSigner(app.test_client()).post("/twilio/voice/recorded", form)  # Twilio's retry
    db.session.expire_all()
    [voicemail] = db.session.scalars(db.select(Alert).filter_by(kind="voicemail")).all()
    assert voicemail.recording_url == form["RecordingUrl"]


def test_a_retried_voicemail_makes_one_inbox_item(app, twilio):
    """Twilio posts a recording again when our first answer was slow: one RecordingSid,
    one item for the coordinators."""
    form = {
        "CallSid": "CA" + "3" * 32,
        "From": PHONE,
        "RecordingUrl": "https://api.twilio.com/recordings/RE2",
        "RecordingSid": "RE" + "2" * 32,
        "RecordingDuration": "9",
    }
    for _ in range(2):
        assert twilio.post("/twilio/voice/recorded", form).status_code == 200
    other = {**form, "RecordingSid": "RE" + "3" * 32}
    twilio.post("/twilio/voice/recorded", other)
    assert len(db.session.scalars(db.select(Alert).filter_by(kind="voicemail")).all()) == 2


# -- PostgreSQL restarts and failing effects ------------------------------------------


def terminate_app_connections() -> int:
    """What a restart or a failover does to the app's pooled connections."""
    killer = sa.create_engine(db.engine.url, isolation_level="AUTOCOMMIT")
    try:
        with killer.connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar()
    finally:
        killer.dispose()


@pytest.mark.postgres_only
def test_a_failover_while_texts_arrive_loses_no_text_and_no_alert(app, twilio):
    """12 warning-sign texts with the app's connections terminated between them: every one
    is stored at once (not left for the spool), alerted once, and answered with the advice."""
    twilio.post("/twilio/sms", sms_form("hello"))  # the pools now hold connections
    sent = []
    for round_ in range(3):
        assert terminate_app_connections() >= 1
        for _ in range(4):
            form = sms_form(WARNING, phone=f"+1617555{round_}{len(sent):03d}")
            [advice] = texts_of(twilio.post("/twilio/sms", form).data)
            assert advice.startswith(ADVICE)
            sent.append(form["MessageSid"])
    assert not durable_inbound.spool().waiting()
    stored = {m.provider_sid for m in inbound_texts()}
    assert set(sent) <= stored
    assert len(red_flag_alerts()) == 12


@pytest.mark.postgres_only
def test_after_a_failover_plain_texts_and_calls_get_their_real_answer_not_the_apology(app, twilio):
    """The hot path checks no connection before use: a statement that finds its pooled
    connection closed is sent once more on a fresh one, so the patient still gets the
    menu, and a caller the greeting and the topic, with nothing left for the spool."""
    twilio.post("/twilio/sms", sms_form("hello"))
    twilio.post("/twilio/voice", {"CallSid": "CA" + "5" * 32, "From": PHONE})
    assert terminate_app_connections() >= 1
    menu = sms_form("MENU")
    [reply] = texts_of(twilio.post("/twilio/sms", menu).data)
    assert not reply.startswith(APOLOGY) and "1" in reply

    assert terminate_app_connections() >= 1
    greeting = twilio.post("/twilio/voice", {"CallSid": "CA" + "6" * 32, "From": PHONE})
    assert gather(greeting.data) is not None and dial(greeting.data) is None
    assert terminate_app_connections() >= 1
    step = {"CallSid": "CA" + "6" * 32, "From": PHONE, "Digits": "2"}
    topic = twilio.post("/twilio/voice/choose", step, {"node": "main", "miss": "0"})
    assert gather(topic.data) is not None and dial(topic.data) is None
    assert not durable_inbound.spool().waiting()
    [stored] = [m for m in inbound_texts() if m.provider_sid == menu["MessageSid"]]
    assert stored.status == "handled"


@pytest.fixture
def alerts_fail_once(app):
    """A trigger that fails the next alert insert once, as a serialization failure would.

    A sequence counts the tries, because it is the one thing a rolled-back transaction
    does not undo.
    """
    statements = [
        "CREATE SEQUENCE fail_once_tries",
        """CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             IF nextval('fail_once_tries') = 1 THEN
               RAISE EXCEPTION 'injected fault' USING ERRCODE = '40001';
             END IF;
             RETURN NEW;
           END $$""",
        "CREATE TRIGGER fail_once BEFORE INSERT ON alerts FOR EACH ROW EXECUTE FUNCTION fail_once()",
    ]
    with db.engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))

    def again():
        with db.engine.begin() as conn:
            conn.execute(sa.text("ALTER SEQUENCE fail_once_tries RESTART"))

    yield again
    db.session.rollback()  # the test's reads hold a lock on alerts until then
    with db.engine.begin() as conn:
        conn.execute(sa.text("DROP TRIGGER fail_once ON alerts"))
        conn.execute(sa.text("DROP FUNCTION fail_once()"))
        conn.execute(sa.text("DROP SEQUENCE fail_once_tries"))


@pytest.mark.postgres_only
def test_a_text_whose_alert_failed_still_gets_the_advice_and_twilios_retry_finishes_it(
    app, twilio, alerts_fail_once
):
    form = sms_form(WARNING)
    [advice] = texts_of(twilio.post("/twilio/sms", form).data)
    assert advice.startswith(ADVICE)
    assert red_flag_alerts() == []

    [advice] = texts_of(twilio.post("/twilio/sms", form).data)  # the same MessageSid
    assert advice.startswith(ADVICE)
    durable_inbound.drain()
    [alert] = red_flag_alerts()
    [text] = inbound_texts()
    assert alert.message_id == text.id and text.status == "handled"


@pytest.mark.postgres_only
def test_a_text_whose_effects_failed_is_finished_by_the_worker_once(app, alerts_fail_once):
    """With no retry from Twilio and the spool lost, the worker still finishes the text."""
    form = sms_form(WARNING)
    TwilioSigner(app.test_client()).post("/twilio/sms", form)
    (durable_inbound.spool().folder / "inbound.jsonl").unlink()  # only the database knows
    assert durable_inbound.finish_unfinished(utcnow()) == 0  # too young: a web worker's
    later = utcnow() + timedelta(minutes=3)
    assert durable_inbound.finish_unfinished(later) == 1
    assert durable_inbound.finish_unfinished(later) == 0
    assert len(red_flag_alerts()) == 1


# -- Twilio's fallback URLs -------------------------------------------------------------


def test_the_texting_fallback_url_answers_without_the_database_and_keeps_the_text(
    app, app_with, closed_port
):
    """Twilio calls the fallback URL when the main one failed: it screens, answers and
    keeps the text, with the database unreachable; the text is stored once later."""
    signer = TwilioSigner(outage_app(app_with, closed_port).test_client())
    warning, question = sms_form(WARNING), sms_form("hello")
    [advice] = texts_of(timed_post(signer, "/twilio/sms/fallback", warning)[0].data)
    assert advice.startswith(ADVICE)
    assert texts_of(timed_post(signer, "/twilio/sms/fallback", question)[0].data)[0].startswith(
        APOLOGY
    )
    assert durable_inbound.drain() == (2, 0)
    assert len(inbound_texts()) == 2 and len(red_flag_alerts()) == 1


def test_the_calling_fallback_url_gives_a_spoken_warning_sign_its_advice_and_a_person(
    app, app_with, closed_port
):
    signer = TwilioSigner(outage_app(app_with, closed_port).test_client())
    form = {"CallSid": "CA" + "4" * 32, "From": PHONE, "SpeechResult": WARNING}
    response, _ = timed_post(signer, "/twilio/voice/fallback", form)
    assert spoken(response.data).startswith(ADVICE)
    assert dial(response.data).text.strip() == "+16175550100"
    durable_inbound.drain()
    assert len(red_flag_alerts()) == 1


def test_the_next_text_after_an_outage_brings_in_what_the_spool_kept(app, app_with, closed_port):
    """A web worker that reaches the database again stores the spool in the background,
    without waiting for the reminder worker, and without slowing the text that noticed."""
    kept = sms_form(WARNING)
    timed_post(TwilioSigner(outage_app(app_with, closed_port).test_client()), "/twilio/sms", kept)
    TwilioSigner(app.test_client()).post("/twilio/sms", sms_form("hello", phone="+16175550188"))
    deadline = time.monotonic() + ANSWER_WITHIN
    while durable_inbound.spool().waiting() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not durable_inbound.spool().waiting()
    assert kept["MessageSid"] in {m.provider_sid for m in inbound_texts()}
    assert len(red_flag_alerts()) == 1
