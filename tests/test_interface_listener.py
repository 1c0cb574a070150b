"""The scheduling feed, end to end: a real MLLP listener fed over TCP, answering with ACKs.

Each test sends Epic-style SIU messages with python-hl7's MLLP client (the scenarios of
issue 14 also with the ``mllp_send`` program, through the ``sender`` fixture) and then
looks at what a coordinator or patient would notice: the ACK, the appointment, the
reminders planned, the item left for a coordinator. Two scenarios cannot be sent by
``mllp_send``: it has no TLS, and it never stops mid-message; the library's client and a
raw socket send those.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from feed_support import (
    MRN,
    PATIENT_NAME,
    RunningListener,
    ack_code,
    enroll_patient,
    mllp_send_program,
    seed_site,
    send,
    send_with_mllp_send,
    siu,
)
from sqlalchemy import text

from navigator.extensions import db
from navigator.feed import apply as schedule_feed
from navigator.feed import intake as feed_intake
from navigator.feed import listener as listener_module
from navigator.feed.siu import read_event
from navigator.models import (
    Appointment,
    AuditEvent,
    FeedAppointment,
    FeedMessage,
    Reminder,
    SiteLocation,
    utcnow,
)


@pytest.fixture
def listener(app):
    running = RunningListener(app)
    yield running
    running.stop()


@pytest.fixture(params=["python-hl7 client", "mllp_send"])
def sender(request):
    """Sends messages over one MLLP connection and returns their ACKs: python-hl7's asyncio
    client, or the ``mllp_send`` program in a process of its own."""
    return send if request.param == "python-hl7 client" else send_with_mllp_send


@pytest.fixture
def site(app):
    seed_site()
    return enroll_patient()


def _appointments():
    db.session.expire_all()
    return db.session.scalars(db.select(Appointment).order_by(Appointment.id)).all()


def _pending(appointment):
    return db.session.scalars(
        db.select(Reminder).where(
            Reminder.appointment_id == appointment.id, Reminder.status == "pending"
        )
    ).all()


def _messages():
    db.session.expire_all()
    return db.session.scalars(db.select(FeedMessage).order_by(FeedMessage.id)).all()


def test_a_booking_makes_the_appointment_and_plans_its_reminders(listener, sender, site):
    [ack] = sender(listener.port, siu("S12", "MSG0001"))

    assert ack_code(ack) == "AA"
    assert str(ack["MSA.F2"]) == "MSG0001"
    assert str(ack["MSH.F3"]) == "NAVIGATOR" and str(ack["MSH.F5"]) == "EPIC"
    [appointment] = _appointments()
    assert appointment.patient_id == site.id
    assert appointment.kind == "ct"
    assert appointment.location == "Main Hospital Radiology, 2nd floor"
    assert appointment.prep_notes == "Drink only water for 4 hours before."
    assert appointment.starts_at == datetime(2027, 1, 15, 14, 30)  # 09:30 -05:00
    assert appointment.timezone == "America/New_York"
    assert {r.offset for r in _pending(appointment)} >= {"3d", "1d", "2h"}
    [message] = _messages()
    assert (message.status, message.ack_code, message.external_id) == ("applied", "AA", "FL7001")
    assert message.raw == siu("S12", "MSG0001")


def test_a_v23_booking_takes_its_start_from_sch_11(listener, site):
    [ack] = send(listener.port, siu("S12", "V23", version="2.3", start="20270115093000"))

    assert ack_code(ack) == "AA"
    [appointment] = _appointments()
    assert appointment.starts_at == datetime(2027, 1, 15, 14, 30)


def test_a_resend_gets_the_same_ack_and_changes_nothing(listener, sender, site):
    first, again = sender(listener.port, siu("S12", "MSG0001"), siu("S12", "MSG0001"))

    assert ack_code(first) == ack_code(again) == "AA"
    assert str(again["MSA.F2"]) == "MSG0001"
    assert len(_appointments()) == 1
    assert len(_messages()) == 1
    assert len(_pending(_appointments()[0])) == len(db.session.scalars(db.select(Reminder)).all())


def test_a_reused_control_id_with_new_content_goes_to_a_coordinator(listener, sender, site):
    moved = siu("S12", "MSG0001", start="20270116100000-0500")
    first, reused = sender(listener.port, siu("S12", "MSG0001"), moved)

    assert ack_code(first) == ack_code(reused) == "AA"  # never a NAK: it would block the queue
    [appointment] = _appointments()
    assert appointment.starts_at == datetime(2027, 1, 15, 14, 30)  # unchanged
    _, held = _messages()
    assert (held.status, held.problem, held.raw) == ("needs_review", "control_id_reused", moved)


def test_a_reschedule_moves_the_appointment_and_replans_its_reminders(listener, site):
    send(listener.port, siu("S12", "MSG0001"))
    [appointment] = _appointments()
    old = {r.id for r in _pending(appointment)}

    [ack] = send(
        listener.port,
        siu("S13", "MSG0002", start="20270120110000-0500", sent="20261205090000-0500"),
    )

    assert ack_code(ack) == "AA"
    [appointment] = _appointments()
    assert appointment.starts_at == datetime(2027, 1, 20, 16, 0)
    fresh = _pending(appointment)
    assert fresh and not old & {r.id for r in fresh}
    assert {db.session.get(Reminder, i).status for i in old} == {"cancelled"}


def test_a_cancel_withdraws_every_unsent_reminder(listener, site):
    send(listener.port, siu("S12", "MSG0001"))
    [ack] = send(listener.port, siu("S15", "MSG0002", sent="20261205090000-0500"))

    assert ack_code(ack) == "AA"
    [appointment] = _appointments()
    assert appointment.status == "cancelled"
    assert _pending(appointment) == []


def test_a_cancel_before_its_booking_stops_the_late_booking(listener, sender, site):
    cancel, booking = send(
        listener.port,
        siu("S15", "MSG0002", sent="20261205090000-0500"),
        siu("S12", "MSG0001", sent="20261204090000-0500"),
    )

    assert ack_code(cancel) == ack_code(booking) == "AA"
    assert _appointments() == []
    [tombstone] = db.session.scalars(db.select(FeedAppointment)).all()
    assert tombstone.state == "cancelled"
    assert [m.status for m in _messages()] == ["applied", "ignored"]


def test_a_late_booking_never_revives_a_cancelled_appointment(listener, site):
    send(
        listener.port,
        siu("S12", "MSG0001", sent="20261204090000-0500"),
        siu("S15", "MSG0002", sent="20261205090000-0500"),
        siu("S12", "MSG0003", sent="20261206090000-0500"),
    )

    [appointment] = _appointments()
    assert appointment.status == "cancelled"
    assert _pending(appointment) == []


def test_a_stale_reschedule_never_overwrites_a_newer_one(listener, sender, site):
    send(
        listener.port,
        siu("S12", "MSG0001", sent="20261204090000-0500"),
        siu("S13", "MSG0003", start="20270125100000-0500", sent="20261206090000-0500"),
    )
    [ack] = send(
        listener.port,
        siu("S13", "MSG0002", start="20270120100000-0500", sent="20261205090000-0500"),
    )

    assert ack_code(ack) == "AA"
    [appointment] = _appointments()
    assert appointment.starts_at == datetime(2027, 1, 25, 15, 0)
    assert _messages()[-1].status == "ignored"


def test_a_time_without_an_offset_is_read_in_the_sites_zone_across_a_dst_change(
    listener, sender, site
):
    # Sent in December (EST, -05:00) for a July appointment (EDT, -04:00), no offset.
    [ack] = send(
        listener.port,
        siu("S12", "MSG0001", start="20270715093000", sent="20261204090000-0500"),
    )

    assert ack_code(ack) == "AA"
    [appointment] = _appointments()
    assert appointment.starts_at == datetime(2027, 7, 15, 13, 30)


@pytest.mark.parametrize(
    ("start", "problem"),
    [("20271107013000", "ambiguous_time"), ("20270314023000", "impossible_time")],
)
def test_a_local_time_a_dst_change_makes_unclear_waits_for_a_coordinator(
    listener, site, start, problem
):
    [ack] = send(listener.port, siu("S12", "MSG0001", start=start))

    assert ack_code(ack) == "AA"
    assert _appointments() == []
    [held] = _messages()
    assert (held.status, held.problem) == ("needs_review", problem)


def test_an_unknown_service_code_makes_no_appointment_and_waits_for_a_coordinator(
    listener, sender, site
):
    [ack] = sender(listener.port, siu("S12", "MSG0001", service="MAMMO"))

    assert ack_code(ack) == "AA"
    assert _appointments() == []
    [held] = _messages()
    assert (held.status, held.problem) == ("needs_review", "unknown_service")
    assert "MAMMO" in held.detail


def test_an_unknown_location_makes_no_appointment(listener, site):
    send(listener.port, siu("S12", "MSG0001", location="ANNEX9"))

    assert _appointments() == []
    assert _messages()[0].problem == "unknown_location"


def test_a_date_of_birth_mismatch_makes_no_appointment(listener, sender, site):
    [ack] = sender(listener.port, siu("S12", "MSG0001", dob="19650413"))

    assert ack_code(ack) == "AA"
    assert _appointments() == []
    [held] = _messages()
    assert (held.status, held.problem, held.patient_id) == ("needs_review", "dob_mismatch", site.id)


def test_the_same_mrn_from_another_authority_is_not_the_patient(listener, site):
    send(listener.port, siu("S12", "MSG0001", authority="OTHERHOSP"))

    assert _appointments() == []
    assert _messages()[0].problem == "not_enrolled"


def test_an_appointment_for_someone_not_enrolled_waits_for_a_coordinator(listener, site):
    send(listener.port, siu("S12", "MSG0001", mrn="E7654321"))

    assert _appointments() == []
    assert _messages()[0].problem == "not_enrolled"


def test_garbage_bytes_are_kept_and_answered_ae(listener, sender, site):
    garbage = b"\x00\xff this is not HL7 at all \xfe"
    [ack] = sender(listener.port, garbage)

    assert ack_code(ack) == "AE"
    assert str(ack["MSA.F3"]) == "not an HL7 message (no MSH)"
    [kept] = _messages()
    assert (kept.status, kept.raw) == ("unparseable", garbage)


def test_a_message_of_another_type_or_version_is_answered_ar(listener, site):
    adt = siu("S12", "ADT1").replace(b"SIU^S12^SIU_S12", b"ADT^A08^ADT_A01")
    old = siu("S12", "V22", version="2.2")
    first, second = send(listener.port, adt, old)

    assert ack_code(first) == ack_code(second) == "AR"
    assert str(first["MSA.F3"]) == "message type ADT A08 is not accepted"
    assert str(second["MSA.F3"]) == "version 2.2 is not accepted (2.3 to 2.5.1)"
    assert [m.status for m in _messages()] == ["rejected", "rejected"]
    assert _appointments() == []


def test_enhanced_mode_gets_a_commit_accept(listener, site):
    [ack] = send(listener.port, siu("S12", "MSG0001", accept_ack="AL"))

    assert ack_code(ack) == "CA"
    assert len(_appointments()) == 1


def test_a_connection_dropped_mid_message_applies_nothing(listener, site):
    with socket.create_connection(("127.0.0.1", listener.port)) as sock:
        sock.sendall(b"\x0b" + siu("S12", "MSG0001")[:120])
    time.sleep(0.3)

    assert _messages() == []
    assert _appointments() == []
    [ack] = send(listener.port, siu("S12", "MSG0001"))  # the sender's retry
    assert ack_code(ack) == "AA"
    assert len(_appointments()) == 1


def test_no_ack_when_the_database_is_down(app_with, tmp_path):
    down = app_with(SQLALCHEMY_DATABASE_URI="sqlite:///" + str(tmp_path / "no" / "such.db"))
    running = RunningListener(down)
    try:
        [ack] = send(running.port, siu("S12", "MSG0001"))
    finally:
        running.stop()

    assert ack is None


#: A reschedule of the booking MSG0001 makes (FL7001) to the next day, sent later.
MOVED = siu("S13", "MSG0002", start="20270116093000-0500", sent="20261204100000-0500")


@pytest.mark.postgres_only
def test_after_the_database_closes_the_listeners_connections_nothing_is_lost(app_with, site):
    """The listener process does not check a connection before each message (it runs
    with ``DATABASE_PRE_PING`` off). The message that meets a connection the server closed
    (a restart, a failover) gets no ACK, so the sender resends it; the resend is applied,
    once, on a fresh connection."""
    feed = app_with(DATABASE_PRE_PING=False)
    running = RunningListener(feed)
    try:
        [booked] = send(running.port, siu("S12", "MSG0001"))
        db.session.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        db.session.commit()
        [unanswered] = send(running.port, MOVED)
        [resent] = send(running.port, MOVED)
    finally:
        running.stop()

    assert ack_code(booked) == "AA"
    assert unanswered is None
    assert ack_code(resent) == "AA"
    assert [m.control_id for m in _messages()] == ["MSG0001", "MSG0002"]
    [appointment] = _appointments()
    assert appointment.starts_at == datetime(2027, 1, 16, 14, 30)


@contextmanager
def _held_elsewhere(raw: bytes):
    """Another transaction holds the lock of the message's appointment (as a second
    listener process applying a change to it would) until the block ends."""
    key = schedule_feed.lock_key(read_event(raw)[1])
    with db.engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        try:
            yield
        finally:
            other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})


@pytest.mark.postgres_only
def test_a_change_waits_while_another_change_to_the_same_appointment_is_applied(listener, site):
    """Changes to one appointment are applied one after the other across the listener's
    threads and processes: a message waits for the appointment's lock while another
    transaction holds it, and is applied and answered once it is let go."""
    [booked] = send(listener.port, siu("S12", "MSG0001"))
    with ThreadPoolExecutor(max_workers=1) as sender:
        with _held_elsewhere(MOVED):
            answered = sender.submit(send, listener.port, MOVED)
            time.sleep(0.5)
            waited = not answered.done() and len(_messages()) == 1
        [ack] = answered.result(10)

    assert ack_code(booked) == "AA"
    assert waited
    assert ack_code(ack) == "AA"
    [appointment] = _appointments()
    assert appointment.starts_at == datetime(2027, 1, 16, 14, 30)


@pytest.mark.postgres_only
def test_a_message_that_waits_does_not_hold_up_another_senders_queue(listener, site):
    """On PostgreSQL the listener applies messages from different connections at once
    (``HL7_DB_THREADS``): while one waits for its appointment, another queue's booking is
    applied and answered."""
    send(listener.port, siu("S12", "MSG0001"))
    other = siu("S12", "MSG0003", filler="FL7002", placer="PL7002")
    with ThreadPoolExecutor(max_workers=1) as sender:
        with _held_elsewhere(MOVED):
            waiting = sender.submit(send, listener.port, MOVED)
            time.sleep(0.3)
            [answered] = send(listener.port, other)
            still_waiting = not waiting.done()
        [moved_ack] = waiting.result(10)

    assert ack_code(answered) == "AA" and still_waiting
    assert ack_code(moved_ack) == "AA"
    assert len(_appointments()) == 2


def test_no_patient_data_reaches_the_logs(listener, site, written_logs):
    send(
        listener.port,
        siu("S12", "MSG0001"),
        siu("S12", "MSG0002", dob="19650413"),
        b"garbage",
    )

    logged = written_logs.getvalue()
    assert "MSG0001" in logged  # the control id is what an interface analyst searches for
    for private in (MRN, "Quintana", "Rosa", "19650412", "5550199", "555-44-3333"):
        assert private not in logged


def test_every_match_decision_is_audited(listener, site):
    send(listener.port, siu("S12", "MSG0001"), siu("S12", "MSG0002", dob="19650413"))

    details = [
        e.detail
        for e in db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.entity == "feed_message")
        ).all()
    ]
    assert any(f"patient #{site.id} matched" in d for d in details)
    assert any("dob_mismatch" in d for d in details)
    assert not any(PATIENT_NAME in d for d in details)


def test_mllp_send_delivers_a_file_of_messages(listener, site, tmp_path):
    program = mllp_send_program()
    path = tmp_path / "feed.hl7"
    path.write_bytes(
        siu("S12", "MSG0001") + b"\r" + siu("S13", "MSG0002", start="20270120110000-0500",
                                            sent="20261205090000-0500")
    )  # fmt: skip
    done = subprocess.run(
        [program, "--port", str(listener.port), "--file", str(path), "--loose", "127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.count("MSA|AA|") == 2
    [appointment] = _appointments()
    assert appointment.starts_at == datetime(2027, 1, 20, 16, 0)


def _self_signed(tmp_path, name: str = "server"):
    cert, key = tmp_path / f"{name}-cert.pem", tmp_path / f"{name}-key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def test_the_listener_speaks_tls_with_a_self_signed_certificate(app_with, site, tmp_path):
    cert, key = _self_signed(tmp_path)
    secure = app_with(HL7_TLS_CERT=str(cert), HL7_TLS_KEY=str(key))
    running = RunningListener(secure)
    try:
        trusting = ssl.create_default_context(cafile=str(cert))
        [ack] = send(running.port, siu("S12", "MSG0001"), ssl=trusting)
        plain = send(running.port, siu("S12", "MSG0002"))
    finally:
        running.stop()

    assert ack_code(ack) == "AA"
    assert plain == [None]  # plain MLLP is not answered
    assert [m.control_id for m in _messages()] == ["MSG0001"]


def test_with_a_client_ca_only_a_sender_with_a_certificate_it_signed_is_answered(
    app_with, site, tmp_path
):
    cert, key = _self_signed(tmp_path)
    engine_cert, engine_key = _self_signed(tmp_path, "engine")
    stranger_cert, stranger_key = _self_signed(tmp_path, "stranger")
    mutual = app_with(
        HL7_TLS_CERT=str(cert), HL7_TLS_KEY=str(key), HL7_TLS_CLIENT_CA=str(engine_cert)
    )
    running = RunningListener(mutual)
    try:
        engine = ssl.create_default_context(cafile=str(cert))
        engine.load_cert_chain(engine_cert, engine_key)
        [ack] = send(running.port, siu("S12", "MSG0001"), ssl=engine)
        anonymous = send(
            running.port, siu("S12", "MSG0002"), ssl=ssl.create_default_context(cafile=str(cert))
        )
        stranger = ssl.create_default_context(cafile=str(cert))
        stranger.load_cert_chain(stranger_cert, stranger_key)
        unknown = send(running.port, siu("S12", "MSG0003"), ssl=stranger)
    finally:
        running.stop()

    assert ack_code(ack) == "AA"
    assert anonymous == [None] and unknown == [None]
    assert [m.control_id for m in _messages()] == ["MSG0001"]


def test_a_move_that_cannot_be_applied_holds_the_old_reminders_until_resolved(listener, site, app):
    send(listener.port, siu("S12", "MSG0001"))
    [ack] = send(
        listener.port,
        siu("S13", "MSG0002", start="20270120110000-0500", location="ANNEX9",
            sent="20261205090000-0500"),
    )  # fmt: skip

    assert ack_code(ack) == "AA"
    [appointment] = _appointments()
    assert appointment.starts_at == datetime(2027, 1, 15, 14, 30)
    assert _pending(appointment) == []  # no reminder for a time that may be wrong
    held = _messages()[-1]
    assert held.problem == "unknown_location" and "held" in held.detail

    db.session.add(SiteLocation(code="ANNEX9", address="Annex", timezone="America/New_York"))
    db.session.commit()
    feed_intake.replay(held, coordinator_id=None)
    db.session.commit()

    [appointment] = _appointments()
    assert (appointment.starts_at, appointment.location) == (datetime(2027, 1, 20, 16, 0), "Annex")
    assert _pending(appointment)


def test_a_no_show_stops_the_reminders_and_tells_a_coordinator(listener, site):
    send(listener.port, siu("S12", "MSG0001"))
    [ack] = send(listener.port, siu("S26", "MSG0002", sent="20261205090000-0500"))

    assert ack_code(ack) == "AA"
    [appointment] = _appointments()
    assert appointment.status == "missed"
    assert _pending(appointment) == []
    assert (_messages()[-1].status, _messages()[-1].problem) == ("needs_review", "noshow")


def test_a_cancelled_status_on_a_modification_cancels(listener, site):
    send(listener.port, siu("S12", "MSG0001"))
    send(listener.port, siu("S14", "MSG0002", status="Cancelled", sent="20261205090000-0500"))

    [appointment] = _appointments()
    assert appointment.status == "cancelled"


def test_raw_messages_are_purged_after_the_retention_time_but_resends_still_match(
    listener, site, app
):
    send(listener.port, siu("S12", "MSG0001"))
    app.config["HL7_RETENTION_DAYS"] = 30

    assert feed_intake.purge(utcnow() + timedelta(days=29)) == 0
    assert feed_intake.purge(utcnow() + timedelta(days=31)) == 1
    [kept] = _messages()
    assert kept.raw is None and kept.purged_at is not None
    [ack] = send(listener.port, siu("S12", "MSG0001"))  # a very late resend
    assert ack_code(ack) == "AA"
    assert len(_messages()) == 1 and len(_appointments()) == 1


def test_accented_names_do_not_stop_the_feed(listener, site):
    accented = siu("S12", "MSG0001").replace(b"Quintana^Rosa", "Muñoz^María".encode())

    [ack] = send(listener.port, accented)

    assert ack_code(ack) == "AA"
    assert len(_appointments()) == 1


def test_a_deletion_withdraws_the_reminders_and_a_late_booking_stays_deleted(listener, site):
    send(listener.port, siu("S12", "MSG0001"))
    [deleted, late] = send(
        listener.port,
        siu("S17", "MSG0002", sent="20261205090000-0500"),
        siu("S12", "MSG0003", sent="20261206090000-0500"),
    )

    assert ack_code(deleted) == ack_code(late) == "AA"
    [appointment] = _appointments()
    assert appointment.status == "cancelled"
    assert _pending(appointment) == []
    [tombstone] = db.session.scalars(db.select(FeedAppointment)).all()
    assert tombstone.state == "deleted"
    assert [m.status for m in _messages()] == ["applied", "applied", "ignored"]


def test_a_modification_moves_the_appointment_to_another_place_and_replans(listener, site):
    db.session.add(
        SiteLocation(
            code="RAD2", address="Radiology Annex, ground floor", timezone="America/New_York"
        )
    )
    db.session.commit()
    send(listener.port, siu("S12", "MSG0001"))
    [appointment] = _appointments()
    old = {r.id for r in _pending(appointment)}

    [ack] = send(listener.port, siu("S14", "MSG0002", location="RAD2", sent="20261205090000-0500"))

    assert ack_code(ack) == "AA"
    [appointment] = _appointments()
    assert appointment.location == "Radiology Annex, ground floor"
    assert appointment.starts_at == datetime(2027, 1, 15, 14, 30)  # the time did not change
    fresh = _pending(appointment)
    assert fresh and not old & {r.id for r in fresh}


@pytest.mark.parametrize("version", ["2.3", "2.3.1", "2.4", "2.5", "2.5.1"])
def test_a_booking_in_each_version_from_2_3_to_2_5_1_is_applied(listener, site, version):
    [ack] = send(listener.port, siu("S12", "MSG0001", version=version, start="20270115093000"))

    assert ack_code(ack) == "AA"
    [appointment] = _appointments()
    assert appointment.starts_at == datetime(2027, 1, 15, 14, 30)  # 09:30 in New York


@pytest.mark.parametrize("field", ["ais", "ail"])
def test_a_start_sent_only_on_the_resource_is_applied(listener, site, field):
    [ack] = send(listener.port, siu("S12", "MSG0001", start="20270115093000", start_in=field))

    assert ack_code(ack) == "AA"
    [appointment] = _appointments()
    assert appointment.starts_at == datetime(2027, 1, 15, 14, 30)


def test_a_patient_is_never_matched_by_phone_or_name(listener, site):
    """The message's name and mobile number are an enrolled patient's, but its MRN is not."""
    enroll_patient(name="Rosa Quintana", phone="+16175550199", mrn="E0000001")

    [ack] = send(listener.port, siu("S12", "MSG0001", mrn="E7654321"))

    assert ack_code(ack) == "AA"
    assert _appointments() == []
    assert (_messages()[0].problem, _messages()[0].patient_id) == ("not_enrolled", None)


def test_a_resend_of_bytes_that_are_not_hl7_gets_the_same_ae_and_is_kept_once(listener, site):
    garbage = b"not HL7, twice"
    first, again = send(listener.port, garbage, garbage)

    assert ack_code(first) == ack_code(again) == "AE"
    assert len(_messages()) == 1


def test_enhanced_mode_answers_a_refused_message_with_a_commit_reject(listener, site):
    [ack] = send(listener.port, siu("S12", "MSG0001", version="2.6", accept_ack="AL"))

    assert ack_code(ack) == "CR"
    assert _messages()[0].status == "rejected"


@pytest.mark.parametrize(
    ("accept_ack", "code", "answer"),
    [
        ("", "AA", "AA"),
        ("", "AE", "AE"),
        ("", "AR", "AR"),
        ("AL", "AA", "CA"),
        ("AL", "AE", "CE"),
        ("AL", "AR", "CR"),
        ("NE", "AA", None),
        ("NE", "AR", None),
        ("ER", "AA", None),
        ("ER", "AE", "CE"),
        ("SU", "AA", "CA"),
        ("SU", "AR", None),
    ],
)
def test_msh_15_decides_whether_and_how_a_message_is_accepted(accept_ack, code, answer):
    assert feed_intake.answer_code(code, accept_ack) == answer


def test_a_failure_while_applying_is_kept_for_a_person_and_logged_without_its_message(
    listener, site, written_logs, monkeypatch
):
    """A database error's message quotes the values it failed on (PostgreSQL's "Key
    (mrn)=(...) already exists"): the log keeps its type and where, never its words."""

    def fails(*args, **kwargs):
        raise RuntimeError(f"Key (mrn, name)=({MRN}, {PATIENT_NAME}) already exists.")

    monkeypatch.setattr(schedule_feed.appointments, "schedule", fails)

    [ack] = send(listener.port, siu("S12", "MSG0001"))

    assert ack_code(ack) == "AA"  # never a NAK: it would stop the sender's queue
    assert _appointments() == []
    assert (_messages()[0].status, _messages()[0].problem) == ("needs_review", "error")
    logged = written_logs.getvalue()
    assert "RuntimeError" in logged and "MSG0001" in logged
    assert MRN not in logged and PATIENT_NAME not in logged


def _age_every_message(days: int) -> None:
    db.session.execute(db.update(FeedMessage).values(received_at=utcnow() - timedelta(days=days)))
    db.session.commit()


def test_the_running_listener_purges_raw_messages_older_than_the_retention_time(
    listener, site, app
):
    send(listener.port, siu("S12", "MSG0001"), siu("S12", "MSG0002", filler="FL7002"))
    _age_every_message(31)
    send(listener.port, siu("S12", "MSG0003", filler="FL7003"))
    app.config["HL7_RETENTION_DAYS"] = 30

    purging = asyncio.run_coroutine_threadsafe(listener.listener.purge_forever(), listener.loop)
    try:
        for _ in range(50):
            if sum(m.raw is None for m in _messages()) == 2:
                break
            time.sleep(0.1)
    finally:
        purging.cancel()

    assert [m.raw is None for m in _messages()] == [True, True, False]


def test_the_purge_command_forgets_old_raw_messages_now(listener, site, runner):
    send(listener.port, siu("S12", "MSG0001"))
    _age_every_message(31)

    result = runner.invoke(args=["feed", "purge"])

    assert result.exit_code == 0, result.output
    assert "Purged 1 raw messages." in result.output
    assert _messages()[0].raw is None


ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_procfiles_hl7_line_runs_a_listener_of_its_own_that_answers(app, site, tmp_path):
    [command] = [
        line.partition(":")[2].split()
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line.startswith("hl7:")
    ]
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "SPOOL_DIR": str(tmp_path / "spool"),
        "HL7_PORT": str(port),
        "PYTHONPATH": str(ROOT),
    }
    assert command[0] == "python"
    process = subprocess.Popen(
        [sys.executable, *command[1:]],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        [ack] = send(port, siu("S12", "MSG0001"))
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=10)

    assert ack is not None, errors.decode()[-2000:]
    assert ack_code(ack) == "AA"
    [appointment] = _appointments()
    assert appointment.patient_id == site.id


def _held() -> tuple[str, str | None]:
    latest = _messages()[-1]
    return latest.status, latest.problem


def test_a_patient_without_a_date_of_birth_on_file_is_not_matched(listener, app):
    seed_site()
    enroll_patient(date_of_birth=None)

    [ack] = send(listener.port, siu("S12", "MSG0001"))

    assert ack_code(ack) == "AA"
    assert _appointments() == []
    assert _held() == ("needs_review", "no_dob_on_file")


def test_identifiers_that_name_two_patients_match_neither(listener, site):
    enroll_patient(phone="+16175550144", mrn="E7654321")

    send(listener.port, siu("S12", "MSG0001", mrn=f"{MRN}^^^MAINHOSP^MR~E7654321"))

    assert _appointments() == []
    assert _held() == ("needs_review", "several_patients")


def test_only_mrns_from_the_sites_assigning_authority_are_used(listener, site, app):
    app.config["HL7_MRN_AUTHORITY"] = "MAINHOSP"

    send(listener.port, siu("S12", "MSG0001", authority="OTHERHOSP"))

    assert _appointments() == []
    assert _held() == ("needs_review", "no_mrn")


def test_a_booking_without_a_start_waits_for_a_coordinator(listener, site):
    send(listener.port, siu("S12", "MSG0001", start="", start_in="tq1"))

    assert _appointments() == []
    assert _held() == ("needs_review", "no_start")


def test_a_reschedule_after_a_cancel_waits_for_a_coordinator(listener, site):
    send(
        listener.port,
        siu("S12", "MSG0001", sent="20261204090000-0500"),
        siu("S15", "MSG0002", sent="20261205090000-0500"),
        siu("S13", "MSG0003", start="20270120110000-0500", sent="20261206090000-0500"),
    )

    [appointment] = _appointments()
    assert appointment.status == "cancelled" and _pending(appointment) == []
    assert _held() == ("needs_review", "changed_after_cancel")


def test_the_same_control_id_from_another_facility_is_another_message(listener, site):
    annex = siu("S12", "MSG0001", filler="FL8001", placer="PL8001").replace(
        b"|EPIC|MAINHOSP|", b"|EPIC|ANNEX|", 1
    )

    first, other = send(listener.port, siu("S12", "MSG0001"), annex)

    assert ack_code(first) == ack_code(other) == "AA"
    assert [(m.sending_facility, m.status) for m in _messages()] == [
        ("MAINHOSP", "applied"),
        ("ANNEX", "applied"),
    ]
    assert len(_appointments()) == 2


def test_a_message_over_the_size_limit_is_kept_in_part_answered_ae_and_the_queue_goes_on(
    listener, site
):
    """A sender must never be left resending a message we will not take: the first
    ``LIMIT`` bytes are kept, the ACK says why, and the next message is read."""
    note = "NTE|1||" + "x" * (listener_module.LIMIT + 10)
    huge = siu("S12", "MSG0001") + b"\r" + note.encode()

    too_long, next_one, again = send(
        listener.port, huge, siu("S12", "MSG0002", filler="FL7002"), huge
    )

    assert ack_code(too_long) == "AE"
    assert str(too_long["MSA.F2"]) == "MSG0001"
    assert "over" in str(too_long["MSA.F3"])
    assert ack_code(next_one) == "AA"
    assert ack_code(again) == "AE"  # a resend: the same answer, kept once
    kept, applied = _messages()
    assert (kept.status, kept.control_id, len(kept.raw)) == (
        "unparseable",
        "MSG0001",
        listener_module.LIMIT,
    )
    assert applied.status == "applied"
    [appointment] = _appointments()
    assert appointment.id == applied.appointment_id  # nothing from the huge one
