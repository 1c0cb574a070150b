"""Planning appointment reminders: when each one goes, and replanning when a visit changes.

Reminders are rows. ``plan`` decides when they go; ``replace_pending`` rewrites an
appointment's unsent rows whenever it changes (``withdraw_unsent`` only withdraws them);
``plan_new`` plans a new appointment's. ``now`` is always an argument (naive UTC), so tests
move time instead of sleeping.

Kept apart from wording and sending because booking, moving and cancelling appointments
(the app, the scheduling feed, the command line) need only this, and because the rules of
*when* (offsets, quiet hours, caregivers' zones, the day-before preparation) change for
reasons of their own.

When a reminder goes
    Each offset (``REMINDER_OFFSETS``, default 3d,1d,2h) counts back from the start. Day
    offsets count calendar days on the site's wall clock (a 9:00 scan gets its 1d reminder at
    9:00 the day before even across a daylight-saving change); hour and minute offsets count
    real time. A time inside the patient's quiet hours (in the patient's own zone) moves to
    ``QUIET_MARGIN`` before the quiet hours begin, the last allowed time before it. A
    caregiver's copy does the same in the caregiver's own zone when it differs. Nothing is
    planned in the past or after the start. An appointment booked too late for every offset
    gets one reminder now, or when the patient's quiet hours end if it is booked at night and
    that is still before the start. The reminder nearest one day ahead also carries the
    preparation, as a second text (``role='prep'``) one minute later. That preparation
    names the test only for a patient who chose detailed texts (``reminder_prep``).

Never sends, words or commits: the caller's transaction owns the rows written here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock_time

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import update

from .. import timefmt
from ..extensions import db
from ..models import ACTIVE, Appointment, Caregiver, Patient, Reminder

#: Leaves a tick and a retry before quiet hours begin.
QUIET_MARGIN = timedelta(minutes=10)
PREP_DELAY = timedelta(minutes=1)


@dataclass(frozen=True)
class PlannedReminder:
    """When one reminder goes (naive UTC), for which offset, and whether it carries prep."""

    offset: str
    due_at: datetime
    prep: bool = False


def parse_offset(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([dhm])", text)
    if not match:
        raise ValueError(f"bad reminder offset {text!r}")
    amount, unit = int(match.group(1)), match.group(2)
    return {
        "d": timedelta(days=amount),
        "h": timedelta(hours=amount),
        "m": timedelta(minutes=amount),
    }[unit]


def _hhmm(text: str) -> clock_time:
    hour, minute = text.split(":")
    return clock_time(int(hour), int(minute))


def quiet_hours(person: Patient | Caregiver) -> tuple[clock_time, clock_time]:
    """(start, end) of a recipient's quiet hours, their own or the site default.

    Quiet hours are the recipient's: a patient's own, and for a caregiver who lives in
    another zone the site's default hours in that zone (``Caregiver.zone``).
    """
    default_start, default_end = current_app.config["QUIET_HOURS"].split("-")
    return _hhmm(person.quiet_start or default_start), _hhmm(person.quiet_end or default_end)


def _is_quiet(moment: clock_time, start: clock_time, end: clock_time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def in_quiet_hours(person: Patient | Caregiver, moment: datetime) -> bool:
    """Is ``moment`` (naive UTC) inside the recipient's quiet hours, in their own zone?"""
    start, end = quiet_hours(person)
    return _is_quiet(timefmt.local(moment, person.zone).time(), start, end)


def _before_quiet(person: Patient | Caregiver, moment: datetime) -> datetime:
    """The last allowed time before the quiet stretch that ``moment`` (naive UTC) falls in."""
    start, _ = quiet_hours(person)
    local = timefmt.local(moment, person.zone)
    began = datetime.combine(local.date(), start)
    if began.time() > local.time():
        began -= timedelta(days=1)
    return timefmt.wall_to_utc(began, person.zone) - QUIET_MARGIN


def after_quiet(person: Patient | Caregiver, moment: datetime) -> datetime:
    """When the quiet stretch that ``moment`` falls in ends (naive UTC)."""
    _, end = quiet_hours(person)
    local = timefmt.local(moment, person.zone)
    ends = datetime.combine(local.date(), end)
    if ends.time() <= local.time():
        ends += timedelta(days=1)
    return timefmt.wall_to_utc(ends, person.zone)


def plan(appointment: Appointment, now: datetime) -> list[PlannedReminder]:
    """When the appointment's reminders should go, soonest first (naive UTC).

    Never in the past, never at or after the start, never in the patient's quiet hours.
    Offsets already past are dropped while a later reminder remains; an appointment booked
    too late for every offset gets one reminder now, or, booked during quiet hours, one when
    they end, if that is still before the start.
    """
    start = appointment.starts_at
    start_local = timefmt.local_wall(start, appointment.timezone)
    patient = appointment.patient
    offsets = current_app.config["REMINDER_OFFSETS"]
    deltas = {offset: parse_offset(offset) for offset in offsets}
    day_before = _day_before_offset()
    planned: dict[datetime, PlannedReminder] = {}
    missed: list[str] = []
    for offset, delta in deltas.items():
        if offset.endswith("d"):
            due = timefmt.wall_to_utc(start_local - delta, appointment.timezone)
        else:
            due = start - delta
        if in_quiet_hours(patient, due):
            due = _before_quiet(patient, due)
        if due < now:
            missed.append(offset)
            continue
        if due >= start:
            continue
        if due not in planned or offset == day_before:
            planned[due] = PlannedReminder(offset, due, prep=offset == day_before)
    if missed and not planned:
        # Booked too late for any offset: one reminder as soon as allowed rather than none.
        soonest = after_quiet(patient, now) if in_quiet_hours(patient, now) else now
        if soonest < start:
            offset = min(missed, key=lambda o: deltas[o])
            planned[soonest] = PlannedReminder(offset, soonest, prep=day_before in missed)
    return sorted(planned.values(), key=lambda p: p.due_at)


def copy_caregivers(appointment: Appointment) -> list[Caregiver]:
    return [c for c in appointment.patient.caregivers if c.scope == "reminders"]


def _caregiver_due(
    caregiver: Caregiver, due: datetime, now: datetime, start: datetime
) -> datetime | None:
    """When a caregiver's copy of a reminder due at ``due`` goes: at the same time, unless
    that is night where the caregiver lives; then at the last allowed time before it. If
    that time has passed (the patient's reminder was booked late), as soon as allowed: now,
    or when the caregiver's night ends. None only when that is not before the start."""
    if not in_quiet_hours(caregiver, due):
        return due
    moved = _before_quiet(caregiver, due)
    if moved >= now:
        return moved
    soonest = after_quiet(caregiver, now) if in_quiet_hours(caregiver, now) else now
    return soonest if soonest < start else None


def replace_pending(appointment: Appointment, now: datetime) -> list[dict]:
    """Cancel the appointment's unsent reminders and plan new ones; the caller commits.

    Unsent means ``pending``, or ``sending`` with no SID yet: a row a dead worker left, or
    one whose send is in doubt, must not be finished later with the old time or place (the
    in-doubt lookup is then never made, so nothing can be sent twice either). An
    appointment that is cancelled, done or already started gets no new reminders.
    """
    withdraw_unsent(appointment)
    if appointment.status not in ACTIVE or appointment.starts_at <= now:
        return []
    return _plan_rows(appointment, now)


def withdraw_unsent(appointment: Appointment) -> None:
    """Cancel the appointment's unsent reminders (as ``replace_pending`` defines unsent)
    and plan none: for a change that must wait for a person. The caller commits."""
    unsent = sa.or_(
        Reminder.status == "pending",
        sa.and_(Reminder.status == "sending", Reminder.provider_sid.is_(None)),
    )
    db.session.execute(
        update(Reminder)
        .where(Reminder.appointment_id == appointment.id, unsent)
        .values(status="cancelled", error_reason="replaced", lease_until=None),
        execution_options={"synchronize_session": False},
    )


def plan_new(appointment: Appointment, now: datetime) -> list[dict]:
    """Plan the reminders of an appointment just added; the caller commits.

    ``replace_pending`` without its withdrawal: a new appointment has no reminders yet, so
    booking one (from the app or the scheduling feed) costs no UPDATE that finds nothing.
    """
    if appointment.status not in ACTIVE or appointment.starts_at <= now:
        return []
    return _plan_rows(appointment, now)


def _plan_rows(appointment: Appointment, now: datetime) -> list[dict]:
    """Write the planned rows in one INSERT, without building an ORM object for each
    (the scheduling feed books many appointments a second); returns their values."""
    patient = appointment.patient
    caregivers = copy_caregivers(appointment)
    copies_at: set[tuple[str, datetime]] = set()
    made = []
    for planned in plan(appointment, now):
        rows = [
            {
                "recipient_phone": patient.phone,
                "role": "patient",
                "channel": patient.channel,
                "due_at": planned.due_at,
            }
        ]
        if planned.prep and patient.channel == "sms":
            rows.append(
                {
                    "recipient_phone": patient.phone,
                    "role": "prep",
                    "channel": "sms",
                    "due_at": planned.due_at + PREP_DELAY,
                }
            )
        for caregiver in caregivers:
            due = _caregiver_due(caregiver, planned.due_at, now, appointment.starts_at)
            if due is not None and (caregiver.phone, due) not in copies_at:
                copies_at.add((caregiver.phone, due))
                rows.append(
                    {
                        "recipient_phone": caregiver.phone,
                        "role": "caregiver",
                        "channel": "sms",
                        "due_at": due,
                    }
                )
        for row in rows:
            row.update(appointment_id=appointment.id, offset=planned.offset, status="pending")
            row["attempts"] = 0
            made.append(row)
    if made:
        db.session.execute(sa.insert(Reminder), made)
    return made


def carries_prep(reminder: Reminder) -> bool:
    """Whether a reminder call (or the texts replacing it) includes the preparation.

    The day-before reminder does. So does the one reminder of an appointment booked too late
    for its day-before reminder, as ``plan`` decides for texts: no day-before row exists
    for it, and it falls within a day and a half of the start.
    """
    day_before = _day_before_offset()
    if day_before is None or reminder.role != "patient":
        return False
    if reminder.offset == day_before:
        return True
    appointment = reminder.appointment
    if reminder.due_at < appointment.starts_at - timedelta(hours=36):
        return False
    return not db.session.scalar(
        db.select(db.func.count(Reminder.id)).where(
            Reminder.appointment_id == appointment.id,
            Reminder.role == "patient",
            Reminder.offset == day_before,
            Reminder.status != "cancelled",
        )
    )


def _day_before_offset() -> str | None:
    """The configured offset nearest one day (12 to 36 hours): its reminder carries prep."""
    deltas = {o: parse_offset(o) for o in current_app.config["REMINDER_OFFSETS"]}
    candidates = [o for o, d in deltas.items() if timedelta(hours=12) <= d <= timedelta(hours=36)]
    return min(candidates, key=lambda o: abs(deltas[o] - timedelta(days=1)), default=None)
