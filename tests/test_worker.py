"""The reminder worker: every due reminder handed to Twilio once, whatever goes wrong.

Twilio is the fake REST API in tests/fake_twilio.py, reached through the real SDK. Worker
processes are real subprocesses; "killed" means SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest_twilio import ACCOUNT_SID

from navigator import outbound, reminders, scheduler
from navigator.extensions import db
from navigator.models import Alert, Appointment, Contact, Message, Patient, Reminder, utcnow

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 2, 9, 19, 0)  # 14:00 in New York


def seed(count: int, due_at: datetime, first: int = 1000) -> list[str]:
    """``count`` patients (no quiet hours) each with one reminder due at ``due_at``."""
    phones = []
    for index in range(first, first + count):
        phone = f"+1617555{index:04d}"
        patient = Patient(
            phone=phone,
            name=f"Patient {index}",
            language="en",
            timezone="America/New_York",
            channel="sms",
            quiet_start="00:00",
            quiet_end="00:00",
        )
        appointment = Appointment(
            patient=patient,
            kind="ct",
            starts_at=due_at + timedelta(days=1),
            timezone="America/New_York",
            location="Mercy Imaging",
            status="scheduled",
        )
        db.session.add_all(
            [
                patient,
                Contact(phone=phone),
                appointment,
                Reminder(
                    appointment=appointment,
                    recipient_phone=phone,
                    role="patient",
                    channel="sms",
                    offset="1d",
                    due_at=due_at,
                    status="pending",
                    attempts=0,
                ),
            ]
        )
        phones.append(phone)
    db.session.commit()
    return phones


def reminder_rows() -> list[Reminder]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(Reminder).order_by(Reminder.id)))


# -- one worker, Twilio misbehaving ----------------------------------------------------------


def test_a_due_reminder_is_handed_to_twilio_and_its_sid_recorded(app, fake_twilio):
    [phone] = seed(1, NOW)
    assert reminders.send_due(NOW, "w1") == {"sent": 1}
    [reminder] = reminder_rows()
    [received] = fake_twilio.accepted()
    assert (reminder.status, reminder.provider_sid, received.to) == ("sent", received.sid, phone)
    assert reminder.claimed_by == "w1" and reminder.sent_at == NOW


@pytest.mark.parametrize(("status", "code"), [(500, None), (429, 20429)])
def test_a_server_error_or_throttling_is_retried_later_and_sent_once(
    app, fake_twilio, status, code
):
    seed(1, NOW)
    fake_twilio.fail_next(status, code)
    assert reminders.send_due(NOW, "w") == {"retry": 1}
    [reminder] = reminder_rows()
    assert (reminder.status, reminder.due_at) == ("pending", NOW + timedelta(minutes=1))
    assert reminders.send_due(NOW + timedelta(seconds=30), "w") == {}
    assert reminders.send_due(NOW + timedelta(minutes=1), "w") == {"sent": 1}
    assert len(fake_twilio.accepted()) == 1
    assert reminder_rows()[0].attempts == 2


@pytest.mark.parametrize("code", [21610, 21211, 21614])
def test_a_permanent_refusal_fails_the_reminder_and_alerts_a_coordinator(app, fake_twilio, code):
    [phone] = seed(1, NOW)
    fake_twilio.fail_next(400, code)
    assert reminders.send_due(NOW, "w") == {"failed": 1}
    assert reminders.send_due(NOW + timedelta(hours=1), "w") == {}
    [reminder] = reminder_rows()
    assert (reminder.status, reminder.error_code) == ("failed", str(code))
    [alert] = db.session.scalars(db.select(Alert))
    assert (alert.kind, alert.phone) == ("delivery_failed", phone)
    assert str(code) in alert.detail


def test_a_reminder_that_keeps_failing_is_given_up_with_an_alert(app, fake_twilio):
    seed(1, NOW)
    fake_twilio.fail_next(503, None, times=50)
    moment = NOW
    for _ in range(10):
        reminders.send_due(moment, "w")
        moment += timedelta(minutes=61)
    [reminder] = reminder_rows()
    assert reminder.status == "failed" and reminder.attempts == reminders.MAX_ATTEMPTS
    assert len(fake_twilio.received) == reminders.MAX_ATTEMPTS
    assert [a.kind for a in db.session.scalars(db.select(Alert))] == ["delivery_failed"]


# -- a worker that died ----------------------------------------------------------------------


def _dead_worker_left(reminder_id: int, *, wrote_message: bool, reached_twilio: bool):
    """Leave the database as a worker killed mid-send leaves it."""
    assert reminders.claim_due(NOW, "dead-worker") == [reminder_id]
    if wrote_message:
        reminder = db.session.get(Reminder, reminder_id)
        message = outbound.prepare_sms(
            reminder.recipient_phone, reminders.sms_text(reminder), reminder_id=reminder_id
        )
        db.session.commit()
        if reached_twilio:
            return outbound.request_twilio("sms", message.phone, message.body)[0]
    return None


def test_a_live_workers_claim_is_left_alone(app, fake_twilio):
    seed(1, NOW)
    [reminder] = reminder_rows()
    _dead_worker_left(reminder.id, wrote_message=True, reached_twilio=False)
    assert reminders.send_due(NOW + timedelta(minutes=1), "other") == {}
    assert fake_twilio.received == []


@pytest.mark.parametrize("still_queued", [False, True])
def test_a_text_a_dead_worker_got_to_twilio_is_not_sent_again(app, fake_twilio, still_queued):
    """Also when Twilio still holds it in its queue, with no DateSent yet."""
    fake_twilio.hold_in_queue = still_queued
    seed(1, NOW)
    [reminder] = reminder_rows()
    sid = _dead_worker_left(reminder.id, wrote_message=True, reached_twilio=True)
    later = NOW + reminders.LEASE + timedelta(minutes=1)
    assert reminders.send_due(later, "rescuer") == {"recovered": 1}
    assert len(fake_twilio.accepted()) == 1
    [reminder] = reminder_rows()
    assert (reminder.status, reminder.provider_sid) == ("sent", sid)


@pytest.mark.parametrize("wrote_message", [True, False])
def test_a_text_a_dead_worker_never_sent_goes_out_once(app, fake_twilio, wrote_message):
    seed(1, NOW)
    [reminder] = reminder_rows()
    _dead_worker_left(reminder.id, wrote_message=wrote_message, reached_twilio=False)
    later = NOW + reminders.LEASE + timedelta(minutes=1)
    assert reminders.send_due(later, "rescuer") == {"sent": 1}
    assert len(fake_twilio.accepted()) == 1
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 1


def test_an_in_doubt_text_is_not_sent_to_someone_who_opted_out_meanwhile(app, fake_twilio):
    [phone] = seed(1, NOW)
    [reminder] = reminder_rows()
    _dead_worker_left(reminder.id, wrote_message=True, reached_twilio=False)
    db.session.scalar(db.select(Contact).filter_by(phone=phone)).opted_out_at = NOW
    db.session.commit()
    later = NOW + reminders.LEASE + timedelta(minutes=1)
    assert reminders.send_due(later, "rescuer") == {"skipped": 1}
    assert fake_twilio.received == []
    assert db.session.scalar(db.select(Message)).status == "not_sent"


def test_an_in_doubt_text_waits_when_twilio_cannot_be_asked(app, fake_twilio):
    seed(1, NOW)
    [reminder] = reminder_rows()
    _dead_worker_left(reminder.id, wrote_message=True, reached_twilio=False)
    url = app.config["TWILIO_API_URL"]
    app.config["TWILIO_API_URL"] = "http://127.0.0.1:9"  # nothing listens on the discard port
    later = NOW + reminders.LEASE + timedelta(minutes=1)
    assert reminders.send_due(later, "rescuer") == {"in_doubt": 1}
    app.config["TWILIO_API_URL"] = url
    assert reminders.send_due(later + timedelta(minutes=1), "rescuer") == {"sent": 1}
    assert len(fake_twilio.accepted()) == 1


# -- real worker processes -------------------------------------------------------------------


def _worker_env(app, fake) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": app.config["SECRET_KEY"],
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": app.config["TWILIO_AUTH_TOKEN"],
            "TWILIO_API_URL": fake.url,
            "TWILIO_PHONE_NUMBER": "+12025550100",
            "PUBLIC_BASE_URL": "https://navigator.example.org",
            "PROGRAM_NAME": app.config["PROGRAM_NAME"],
            "SEND_RATE_PER_SECOND": "0",
            "LOG_LEVEL": "DEBUG",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def _spawn(app, fake, *args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "navigator.scheduler", "--once", *args],
        cwd=ROOT,
        env=_worker_env(app, fake),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _each_once(fake, phones) -> None:
    counts = Counter(r.to for r in fake.accepted())
    assert set(counts) == set(phones), "a reminder was lost"
    assert set(counts.values()) == {1}, "a reminder was sent twice"


def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(app, fake_twilio):
    phones = seed(40, utcnow() - timedelta(minutes=1))
    fake_twilio.latency = 0.1
    worker = _spawn(app, fake_twilio, "--threads", "2", "--batch", "10")
    deadline = time.monotonic() + 60
    while len(fake_twilio.accepted()) < 14 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(worker.pid, signal.SIGKILL)
    worker.communicate(timeout=10)
    assert worker.returncode == -signal.SIGKILL
    # A request already on the wire still reaches Twilio; the lease outlasts it in real life.
    fake_twilio.settle()
    handed_over = len(fake_twilio.accepted())
    assert 14 <= handed_over < 40, "the kill came too late to test anything"
    stuck = [r for r in reminder_rows() if r.status == "sending"]
    assert stuck, "the kill should leave a batch in doubt"

    fake_twilio.latency = 0.0
    counts = reminders.send_due(utcnow() + reminders.LEASE + timedelta(minutes=1), "rescuer")
    assert counts["recovered"] >= 1
    _each_once(fake_twilio, phones)
    rows = reminder_rows()
    assert {r.status for r in rows} == {"sent"}
    sids = {r.to: r.sid for r in fake_twilio.accepted()}
    assert all(r.provider_sid == sids[r.recipient_phone] for r in rows)


@pytest.mark.postgres_only
def test_two_workers_at_once_send_every_reminder_exactly_once(app, fake_twilio):
    phones = seed(600, utcnow() - timedelta(minutes=1))
    fake_twilio.latency = 0.04
    workers = [_spawn(app, fake_twilio, "--threads", "4", "--batch", "20") for _ in range(2)]
    for worker in workers:
        _, errors = worker.communicate(timeout=120)
        assert worker.returncode == 0, errors.decode()
    _each_once(fake_twilio, phones)
    rows = reminder_rows()
    assert {r.status for r in rows} == {"sent"}
    assert len({r.claimed_by for r in rows}) == 2, "both workers should have taken a share"


# -- the scheduler ---------------------------------------------------------------------------


def test_the_worker_has_one_tick_job_that_never_overlaps_and_survives_late_wakeups(app):
    job = scheduler.build(app, interval=30).get_job(scheduler.JOB_ID)
    assert job.trigger.interval == timedelta(seconds=30)
    assert (job.coalesce, job.max_instances) == (True, 1)
    assert job.misfire_grace_time >= 300


def test_a_tick_sends_what_is_due(app, fake_twilio):
    seed(2, utcnow() - timedelta(minutes=1))
    assert scheduler.tick(app, "tick-test") == {"sent": 2}
    assert len(fake_twilio.accepted()) == 2


def test_the_embedded_database_is_shared_safely_by_the_web_server_and_the_worker(app):
    """On SQLite both processes use one file: readers never wait for the writer, and a
    writer waits for the other's write instead of failing with "database is locked"."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the embedded mode is SQLite")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
