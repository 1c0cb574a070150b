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

from navigator import scheduler
from navigator.extensions import db
from navigator.models import (
    Alert,
    Appointment,
    Contact,
    Message,
    Patient,
    PatientEvent,
    Reminder,
    utcnow,
)
from navigator.patients import appointments
from navigator.reminders import pacing, wording, worker
from navigator.telephony import delivery, outbound

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


def booked(new_patient, phone: str, channel: str = "sms") -> Appointment:
    """A patient with no quiet hours and a CT scan three days after NOW, reminders planned."""
    patient = new_patient(phone=phone, channel=channel, quiet_start="00:00", quiet_end="00:00")
    appointment = appointments.schedule(
        patient, "ct", datetime(2026, 2, 12, 14, 0), "America/New_York", "Mercy", now=NOW
    )
    db.session.commit()
    return appointment


class Clock:
    """Injected monotonic time: a rate limiter's waits move it on."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# -- one worker, Twilio misbehaving ----------------------------------------------------------


def test_a_due_reminder_is_handed_to_twilio_and_its_sid_recorded(app, fake_twilio):
    [phone] = seed(1, NOW)
    assert worker.send_due(NOW, "w1") == {"sent": 1}
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
    assert worker.send_due(NOW, "w") == {"retry": 1}
    [reminder] = reminder_rows()
    assert (reminder.status, reminder.due_at) == ("pending", NOW + timedelta(minutes=1))
    assert worker.send_due(NOW + timedelta(seconds=30), "w") == {}
    assert worker.send_due(NOW + timedelta(minutes=1), "w") == {"sent": 1}
    assert len(fake_twilio.accepted()) == 1
    assert reminder_rows()[0].attempts == 2


def test_a_network_error_is_retried_later_and_sent_once(app, fake_twilio):
    """The connection breaks before Twilio takes the text: the worker tries again later."""
    seed(1, NOW)
    fake_twilio.drop_next()
    assert worker.send_due(NOW, "w") == {"retry": 1}
    assert fake_twilio.accepted() == []
    assert worker.send_due(NOW + timedelta(seconds=30), "w") == {}
    assert worker.send_due(NOW + timedelta(minutes=1, seconds=1), "w") == {"sent": 1}
    assert len(fake_twilio.accepted()) == 1
    [reminder] = reminder_rows()
    assert (reminder.status, reminder.provider_sid) == ("sent", fake_twilio.accepted()[0].sid)
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 1


def test_twilio_that_cannot_be_reached_at_all_is_tried_again_later(app, fake_twilio):
    seed(1, NOW)
    url = app.config["TWILIO_API_URL"]
    app.config["TWILIO_API_URL"] = "http://127.0.0.1:9"  # nothing listens on the discard port
    assert worker.send_due(NOW, "w") == {"retry": 1}
    app.config["TWILIO_API_URL"] = url
    assert worker.send_due(NOW + timedelta(minutes=1), "w") == {"sent": 1}
    assert len(fake_twilio.accepted()) == 1


@pytest.mark.parametrize("trouble", ["answer never came", "connection broke after"])
def test_a_send_twilio_may_have_taken_is_looked_up_before_it_is_sent_again(
    app, fake_twilio, trouble
):
    seed(1, NOW)
    app.config["TWILIO_TIMEOUT_SECONDS"] = 0.2
    if trouble == "answer never came":
        fake_twilio.answer_late(1.0)
    else:
        fake_twilio.drop_next(after_taking_it=True)
    assert worker.send_due(NOW, "w") == {"retry": 1}
    fake_twilio.settle()
    [taken] = fake_twilio.accepted()
    assert worker.send_due(NOW + timedelta(minutes=1, seconds=1), "w") == {"recovered": 1}
    assert fake_twilio.accepted() == [taken]
    [reminder] = reminder_rows()
    assert (reminder.status, reminder.provider_sid) == ("sent", taken.sid)


def test_a_send_that_never_gets_an_answer_is_given_up_after_its_tries_with_an_alert(
    app, fake_twilio
):
    seed(1, NOW)
    fake_twilio.drop_next(times=worker.MAX_ATTEMPTS + 1)
    moment = NOW
    for _ in range(worker.MAX_ATTEMPTS + 1):
        worker.send_due(moment, "w")
        moment += timedelta(minutes=31)
    [reminder] = reminder_rows()
    assert reminder.status == "failed" and "gave up" in reminder.error_reason
    assert len(fake_twilio.received) == worker.MAX_ATTEMPTS
    assert fake_twilio.accepted() == []
    assert [a.kind for a in db.session.scalars(db.select(Alert))] == ["delivery_failed"]


@pytest.mark.parametrize("code", [21610, 21211, 21614])
def test_a_permanent_refusal_fails_the_reminder_and_alerts_a_coordinator(app, fake_twilio, code):
    [phone] = seed(1, NOW)
    fake_twilio.fail_next(400, code)
    assert worker.send_due(NOW, "w") == {"failed": 1}
    assert worker.send_due(NOW + timedelta(hours=1), "w") == {}
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
        worker.send_due(moment, "w")
        moment += timedelta(minutes=61)
    [reminder] = reminder_rows()
    assert reminder.status == "failed" and reminder.attempts == worker.MAX_ATTEMPTS
    assert len(fake_twilio.received) == worker.MAX_ATTEMPTS
    assert [a.kind for a in db.session.scalars(db.select(Alert))] == ["delivery_failed"]


def test_a_number_unsubscribed_at_the_carrier_is_opted_out_and_alerted_once(
    app, fake_twilio, new_patient
):
    appointment = booked(new_patient, "+16175552201")
    phone = appointment.patient.phone
    fake_twilio.fail_for(phone, 400, 21610, times=10)
    first = NOW + timedelta(minutes=1)
    assert worker.send_due(first, "w") == {"failed": 1}
    for later in (timedelta(days=2, minutes=2), timedelta(days=2, hours=22, minutes=1)):
        assert worker.send_due(NOW + later, "w")["skipped"] >= 1
    assert len(fake_twilio.received) == 1
    contact = db.session.scalar(db.select(Contact).filter_by(phone=phone))
    assert contact.opted_out and contact.opted_out_at == first
    [alert] = db.session.scalars(db.select(Alert))
    assert (alert.kind, alert.phone) == ("delivery_failed", phone)
    [event] = db.session.scalars(db.select(PatientEvent))  # on the patient's timeline
    assert (event.kind, event.channel, event.patient_id) == (
        "opted_out",
        "carrier",
        appointment.patient_id,
    )


@pytest.mark.parametrize(
    ("refusal", "times"), [((400, 13224), 1), ((503, None), worker.MAX_ATTEMPTS)]
)
def test_a_reminder_call_twilio_refuses_is_followed_by_the_reminder_as_a_text(
    app, fake_twilio, new_patient, refusal, times
):
    appointment = booked(new_patient, "+16175552202", channel="voice")
    phone = appointment.patient.phone
    fake_twilio.fail_for(phone, *refusal, times=times)
    moment = NOW + timedelta(minutes=1)
    for _ in range(times + 1):
        worker.send_due(moment, "w")
        moment += timedelta(minutes=31)
    assert [r.kind for r in fake_twilio.received] == ["call"] * times + ["sms"]
    [text] = fake_twilio.accepted("sms")
    assert text.to == phone and "Reply C to confirm" in text.body
    call = next(r for r in reminder_rows() if r.channel == "voice" and r.offset == "3d")
    assert call.status == "undelivered" and "texted instead" in call.error_reason


class MidBatch(pacing.RateLimiter):
    """No pacing; before the n-th send of a batch, ``then`` runs in its own app context, as
    a webhook or a second process would, while the worker is still sending."""

    def __init__(self, app, before_send: int, then):
        super().__init__(0)
        self.app, self.before_send, self.then, self.sends = app, before_send, then, 0

    def acquire(self) -> None:
        self.sends += 1
        if self.sends == self.before_send:
            with self.app.app_context():
                self.then()
                db.session.commit()


def test_a_missed_call_reported_while_the_batch_is_still_sending_is_texted(
    app, fake_twilio, new_patient
):
    """Twilio says "no-answer" for the first call before the worker has sent the rest."""
    app.config["REMINDER_SEND_THREADS"] = 1
    for index in range(3):
        booked(new_patient, f"+1617555{2210 + index:04d}", channel="voice")

    def first_call_not_answered():
        first = fake_twilio.accepted("call")[0].sid
        delivery.record(first, "no-answer", None, now=NOW + timedelta(minutes=1))

    worker.send_due(
        NOW + timedelta(minutes=1), "w", limiter=MidBatch(app, 3, first_call_not_answered)
    )
    worker.send_due(NOW + timedelta(minutes=2), "w")
    assert len(fake_twilio.accepted("call")) == 3
    first = fake_twilio.accepted("call")[0]
    [text] = fake_twilio.accepted("sms")
    assert text.to == first.to
    missed = next(r for r in reminder_rows() if r.provider_sid == first.sid)
    assert missed.status == "undelivered"


def test_a_report_that_comes_while_a_send_is_in_doubt_is_applied_when_it_is_found(app, fake_twilio):
    seed(1, NOW)
    [reminder] = reminder_rows()
    sid = _dead_worker_left(reminder.id, wrote_message=True, reached_twilio=True)
    assert delivery.record(sid, "delivered", None, now=NOW + timedelta(minutes=1)) is None
    db.session.commit()
    later = NOW + worker.LEASE + timedelta(minutes=1)
    assert worker.send_due(later, "rescuer") == {"recovered": 1}
    [reminder] = reminder_rows()
    message = db.session.scalar(db.select(Message).filter_by(provider_sid=sid))
    assert (reminder.status, message.status) == ("delivered", "delivered")


def test_each_batch_of_a_long_tick_is_leased_from_its_own_claim(app):
    """Sends paced 100 s apart, one reminder a batch: at every send, a second worker
    looking for rows whose lease ran out finds none, so none is sent twice."""
    seed(4, NOW)
    app.config["REMINDER_BATCH"] = 1
    clock = Clock()
    taken_over = []

    def wait(seconds: float) -> None:
        clock.now += seconds
        with app.app_context():
            moment = NOW + timedelta(seconds=clock.now)
            taken_over.extend(worker.claim_in_doubt(moment, "second-worker"))

    limiter = pacing.RateLimiter(0.01, clock=clock, sleep=wait)
    assert worker.send_due(NOW, "first-worker", limiter=limiter, clock=clock) == {"sent": 4}
    assert clock.now > worker.LEASE.total_seconds(), "the tick should outlast one lease"
    assert taken_over == []
    assert [r.claimed_by for r in reminder_rows()] == ["first-worker"] * 4


# -- a worker that died ----------------------------------------------------------------------


def _dead_worker_left(reminder_id: int, *, wrote_message: bool, reached_twilio: bool):
    """Leave the database as a worker killed mid-send leaves it."""
    assert worker.claim_due(NOW, "dead-worker") == [reminder_id]
    if wrote_message:
        reminder = db.session.get(Reminder, reminder_id)
        message = outbound.prepare_sms(
            reminder.recipient_phone, wording.sms_text(reminder), reminder_id=reminder_id
        )
        db.session.commit()
        if reached_twilio:
            return outbound.request_twilio("sms", message.phone, message.body)[0]
    return None


def test_a_live_workers_claim_is_left_alone(app, fake_twilio):
    seed(1, NOW)
    [reminder] = reminder_rows()
    _dead_worker_left(reminder.id, wrote_message=True, reached_twilio=False)
    assert worker.send_due(NOW + timedelta(minutes=1), "other") == {}
    assert fake_twilio.received == []


@pytest.mark.parametrize("still_queued", [False, True])
def test_a_text_a_dead_worker_got_to_twilio_is_not_sent_again(app, fake_twilio, still_queued):
    """Also when Twilio still holds it in its queue, with no DateSent yet."""
    fake_twilio.hold_in_queue = still_queued
    seed(1, NOW)
    [reminder] = reminder_rows()
    sid = _dead_worker_left(reminder.id, wrote_message=True, reached_twilio=True)
    later = NOW + worker.LEASE + timedelta(minutes=1)
    assert worker.send_due(later, "rescuer") == {"recovered": 1}
    assert len(fake_twilio.accepted()) == 1
    [reminder] = reminder_rows()
    assert (reminder.status, reminder.provider_sid) == ("sent", sid)


@pytest.mark.parametrize("wrote_message", [True, False])
def test_a_text_a_dead_worker_never_sent_goes_out_once(app, fake_twilio, wrote_message):
    seed(1, NOW)
    [reminder] = reminder_rows()
    _dead_worker_left(reminder.id, wrote_message=wrote_message, reached_twilio=False)
    later = NOW + worker.LEASE + timedelta(minutes=1)
    assert worker.send_due(later, "rescuer") == {"sent": 1}
    assert len(fake_twilio.accepted()) == 1
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 1


def test_an_in_doubt_text_is_not_sent_to_someone_who_opted_out_meanwhile(app, fake_twilio):
    [phone] = seed(1, NOW)
    [reminder] = reminder_rows()
    _dead_worker_left(reminder.id, wrote_message=True, reached_twilio=False)
    db.session.scalar(db.select(Contact).filter_by(phone=phone)).opted_out_at = NOW
    db.session.commit()
    later = NOW + worker.LEASE + timedelta(minutes=1)
    assert worker.send_due(later, "rescuer") == {"skipped": 1}
    assert fake_twilio.received == []
    assert db.session.scalar(db.select(Message)).status == "not_sent"


def test_a_text_a_dead_worker_left_is_never_sent_once_the_visit_has_moved(app, fake_twilio):
    seed(1, NOW)
    [reminder] = reminder_rows()
    _dead_worker_left(reminder.id, wrote_message=True, reached_twilio=False)
    appointments.move(reminder.appointment, datetime(2026, 2, 17, 14, 0), now=NOW)
    db.session.commit()
    later = NOW + worker.LEASE + timedelta(minutes=1)
    assert worker.send_due(later, "rescuer") == {}
    assert fake_twilio.received == []
    assert db.session.get(Reminder, reminder.id).status == "cancelled"


def test_a_send_on_its_way_when_the_visit_moves_is_not_tried_again(app, fake_twilio, new_patient):
    """The send fails while the coordinator moves the visit: the old reminder is not retried
    (the new time has its own reminders)."""
    appointment = booked(new_patient, "+16175552203")
    fake_twilio.fail_next(500)

    def coordinator_moves_it():
        moved = db.session.get(Appointment, appointment.id)
        appointments.move(moved, datetime(2026, 2, 19, 14, 0), now=NOW)

    limiter = MidBatch(app, 1, coordinator_moves_it)
    assert worker.send_due(NOW + timedelta(minutes=1), "w", limiter=limiter) == {"cancelled": 1}
    assert worker.send_due(NOW + timedelta(minutes=5), "w") == {}
    assert len(fake_twilio.received) == 1
    old = [r for r in reminder_rows() if r.due_at <= NOW + timedelta(minutes=1)]
    assert [r.status for r in old] == ["cancelled"]


def test_an_in_doubt_text_waits_when_twilio_cannot_be_asked(app, fake_twilio):
    seed(1, NOW)
    [reminder] = reminder_rows()
    _dead_worker_left(reminder.id, wrote_message=True, reached_twilio=False)
    url = app.config["TWILIO_API_URL"]
    app.config["TWILIO_API_URL"] = "http://127.0.0.1:9"  # nothing listens on the discard port
    later = NOW + worker.LEASE + timedelta(minutes=1)
    assert worker.send_due(later, "rescuer") == {"in_doubt": 1}
    app.config["TWILIO_API_URL"] = url
    assert worker.send_due(later + timedelta(minutes=1), "rescuer") == {"sent": 1}
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
    process = _spawn(app, fake_twilio, "--threads", "2", "--batch", "10")
    deadline = time.monotonic() + 60
    while len(fake_twilio.accepted()) < 14 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=10)
    assert process.returncode == -signal.SIGKILL
    # A request already on the wire still reaches Twilio; the lease outlasts it in real life.
    fake_twilio.settle()
    handed_over = len(fake_twilio.accepted())
    assert 14 <= handed_over < 40, "the kill came too late to test anything"
    stuck = [r for r in reminder_rows() if r.status == "sending"]
    assert stuck, "the kill should leave a batch in doubt"

    fake_twilio.latency = 0.0
    counts = worker.send_due(utcnow() + worker.LEASE + timedelta(minutes=1), "rescuer")
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
    for process in workers:
        _, errors = process.communicate(timeout=120)
        assert process.returncode == 0, errors.decode()
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
        # A few seconds: long enough for the other's write, short enough for Twilio's 15 s.
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 4000
