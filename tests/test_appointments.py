"""Appointment rules and the appointments CLI, as a coordinator or a demo script meets them."""

from __future__ import annotations

from datetime import datetime

import pytest

from navigator.extensions import db
from navigator.models import Appointment, Message, Reminder
from navigator.patients import appointments
from navigator.reminders import wording

NOW = datetime(2026, 2, 1, 15, 0)


def at_mercy(patient, kind="ct", day=datetime(2026, 2, 12, 9, 0), now=NOW, **details):
    """An appointment at Mercy Imaging, New York time."""
    return appointments.schedule(
        patient, kind, day, "America/New_York", "Mercy Imaging", now=now, **details
    )


def test_an_appointment_is_stored_in_utc_with_its_sites_zone(new_patient):
    appointment = appointments.schedule(
        new_patient(), "mri", datetime(2026, 7, 1, 9, 0), "America/Chicago", "Lakeside MRI", now=NOW
    )
    assert appointment.starts_at == datetime(2026, 7, 1, 14, 0)
    assert appointments.local_start(appointment).strftime("%H:%M %Z") == "09:00 CDT"
    assert appointment.status == "scheduled"


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("kind", {"kind": "xray-of-everything"}),
        ("timezone", {"timezone": "Mars/Olympus_Mons"}),
        ("at", {"starts_at_local": datetime(2026, 1, 31, 9, 0)}),
        ("location", {"location": "  "}),
    ],
)
def test_bad_details_are_refused_naming_the_field(new_patient, field, kwargs):
    details = {
        "kind": "ct",
        "starts_at_local": datetime(2026, 2, 12, 9, 0),
        "timezone": "America/New_York",
        "location": "Mercy Imaging",
        **kwargs,
    }
    with pytest.raises(appointments.AppointmentError) as caught:
        appointments.schedule(new_patient(), now=NOW, **details)
    assert caught.value.field == field


def test_a_cancelled_appointment_cannot_be_moved(new_patient):
    appointment = at_mercy(new_patient())
    appointments.cancel(appointment, now=NOW)
    with pytest.raises(appointments.AppointmentError):
        appointments.move(appointment, datetime(2026, 2, 13, 9, 0), now=NOW)


def test_a_moved_appointment_waits_for_a_new_confirmation(new_patient):
    appointment = at_mercy(new_patient())
    appointment.status = "confirmed"
    appointments.move(appointment, datetime(2026, 2, 13, 9, 0), now=NOW)
    assert appointment.status == "scheduled"


def test_the_next_appointment_is_the_soonest_one_still_ahead(new_patient):
    patient = new_patient()
    later = appointments.schedule(
        patient, "ct", datetime(2026, 2, 20, 9, 0), "America/New_York", "Mercy Imaging", now=NOW
    )
    sooner = appointments.schedule(
        patient, "mri", datetime(2026, 2, 10, 9, 0), "America/New_York", "Mercy Imaging", now=NOW
    )
    cancelled = appointments.schedule(
        patient, "visit", datetime(2026, 2, 5, 9, 0), "America/New_York", "Clinic B", now=NOW
    )
    appointments.cancel(cancelled, now=NOW)
    assert appointments.next_for(patient, NOW) == sooner
    assert appointments.next_for(patient, datetime(2026, 2, 15)) == later
    assert appointments.next_for(patient, datetime(2026, 3, 1)) is None


def test_prep_is_the_sites_own_notes_when_it_has_them(new_patient):
    appointment = at_mercy(new_patient(), kind="pet-ct", prep_notes="Nothing to eat after 3 AM.")
    assert wording.prep_text(appointment, "en") == "Nothing to eat after 3 AM."


def test_without_notes_prep_is_generic_and_never_says_to_stop_a_medicine(new_patient):
    appointment = at_mercy(new_patient(), kind="biopsy")
    english = wording.prep_text(appointment, "en")
    assert "Ask the team before you stop any medicine" in english
    assert "stop taking" not in english.lower()
    assert "Pregunte al equipo antes de dejar una medicina" in wording.prep_text(appointment, "es")


# -- the CLI ---------------------------------------------------------------------------------

PHONE = "+16175550143"


def add(
    runner,
    *extra,
    at="2027-03-10 09:30",
    kind="ct",
    zone="America/New_York",
    location="Mercy Imaging",
    prep=None,
):
    if prep is not None:
        extra = (*extra, "--prep", prep)
    return runner.invoke(
        args=[
            "appointments",
            "add",
            "--phone",
            PHONE,
            "--kind",
            kind,
            "--at",
            at,
            "--timezone",
            zone,
            "--location",
            location,
            *extra,
        ]
    )


def test_the_cli_adds_an_appointment_with_its_reminders(runner, new_patient):
    new_patient(phone=PHONE)
    result = add(runner, "--prep", "Bring your last scan report.")
    assert result.exit_code == 0, result.output
    assert (
        "Added #1 ct 2027-03-10 09:30 America/New_York at Mercy Imaging [scheduled]"
        in result.output
    )
    appointment = db.session.scalar(db.select(Appointment))
    assert appointment.prep_notes == "Bring your last scan report."
    assert db.session.scalar(db.select(db.func.count(Reminder.id))) == 4  # 3d, 1d + prep, 2h


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "xray"}, "--kind: unknown kind 'xray'"),
        ({"zone": "Atlantis/Capital"}, "--timezone: unknown time zone 'Atlantis/Capital'"),
        ({"at": "2020-01-01 09:00"}, "--at: that time is in the past"),
        ({"at": "next tuesday"}, "is not a time like"),
        ({"location": "x" * 61}, "--location: keep the location to 60 characters or fewer"),
        ({"prep": "x" * 201}, "--prep: keep the preparation notes to 200 characters or fewer"),
    ],
)
def test_the_cli_refuses_bad_details_with_a_clear_error(runner, new_patient, change, message):
    new_patient(phone=PHONE)
    result = add(runner, **change)
    assert result.exit_code != 0
    assert message in result.output
    assert db.session.scalar(db.select(db.func.count(Appointment.id))) == 0


def test_the_cli_refuses_an_unknown_patient(runner, app):
    result = add(runner)
    assert result.exit_code != 0 and "no patient is enrolled with the number" in result.output


def test_the_cli_moves_and_cancels_and_lists(runner, new_patient):
    new_patient(phone=PHONE)
    add(runner)
    moved = runner.invoke(args=["appointments", "move", "1", "--at", "2027-03-11 10:00"])
    assert moved.exit_code == 0 and "2027-03-11 10:00" in moved.output
    listed = runner.invoke(args=["appointments", "list", "--phone", PHONE])
    assert "#1 ct 2027-03-11 10:00" in listed.output and "4 reminders pending" in listed.output
    cancelled = runner.invoke(args=["appointments", "cancel", "1"])
    assert cancelled.exit_code == 0 and "[cancelled], 0 reminders pending" in cancelled.output
    assert runner.invoke(args=["appointments", "cancel", "99"]).exit_code != 0


def test_every_cli_change_is_in_the_audit_log_as_from_the_command_line(runner, new_patient):
    from navigator.models import AuditEvent

    new_patient(phone=PHONE)
    add(runner)
    runner.invoke(args=["appointments", "move", "1", "--at", "2027-03-11 10:00"])
    runner.invoke(args=["appointments", "cancel", "1"])
    again = runner.invoke(args=["appointments", "cancel", "1"])
    assert "already cancelled; nothing changed" in again.output
    rows = db.session.scalars(
        db.select(AuditEvent).filter_by(entity="appointment").order_by(AuditEvent.id)
    ).all()
    assert [(r.action, r.coordinator_id) for r in rows] == [
        ("create_appointment", None),
        ("update_appointment", None),
        ("cancel_appointment", None),
    ]
    assert all("from the command line" in r.detail for r in rows)
    # One row a change, naming the patient, whose timeline shows it.
    assert {r.patient_id for r in rows} == {1}
    assert db.session.scalars(db.select(AuditEvent).filter_by(entity="patient")).all() == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--at", "2020-01-01 09:00"], "--at: that time is in the past"),
        (
            ["--at", "2027-03-11 10:00", "--timezone", "Atlantis/Capital"],
            "--timezone: unknown time zone 'Atlantis/Capital'",
        ),
        (["--at", "tomorrow"], "is not a time like"),
    ],
)
def test_the_cli_refuses_to_move_into_the_past_or_an_unknown_zone(
    runner, new_patient, change, message
):
    new_patient(phone=PHONE)
    add(runner)
    before = db.session.scalar(db.select(Appointment))
    starts_at, zone = before.starts_at, before.timezone
    pending = {r.id for r in before.reminders if r.status == "pending"}
    result = runner.invoke(args=["appointments", "move", "1", *change])
    assert result.exit_code != 0 and message in result.output
    db.session.expire_all()
    after = db.session.get(Appointment, 1)
    assert (after.starts_at, after.timezone, after.status) == (starts_at, zone, "scheduled")
    assert {r.id for r in after.reminders if r.status == "pending"} == pending


def test_send_due_and_the_outbox_let_anyone_try_it_without_twilio(runner, new_patient):
    patient = new_patient(phone=PHONE, quiet_start="00:00", quiet_end="00:00")
    at_mercy(patient, day=datetime(2027, 3, 10, 9, 30), now=datetime(2026, 1, 1))
    db.session.execute(
        db.update(Reminder).where(Reminder.offset == "3d").values(due_at=datetime(2026, 1, 1))
    )
    db.session.commit()
    result = runner.invoke(args=["reminders", "send-due"])
    assert result.exit_code == 0 and result.output == "Reminder tick: sent 1.\n"
    assert db.session.scalar(db.select(Message)).transport == "outbox"
    listed = runner.invoke(args=["outbox"])
    assert "********0143  Hope Clinic Navigator: Visit Wed Mar 10 at 9:30 AM" in listed.output
    assert PHONE not in listed.output
