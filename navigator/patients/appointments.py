"""Appointment rules: what a valid appointment is, and what happens when one changes.

Scheduling, moving and cancelling each replace the appointment's pending reminders in the
same session, so the caller's one commit either keeps both or neither: a reminder for an
old time is never left behind. The CLI and the coordinator app both come through here.

Times: callers give the site's local wall time and the site's IANA zone; rows store UTC.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .. import timefmt
from ..extensions import db
from ..models import ACTIVE, APPOINTMENT_KINDS, Appointment, Patient, utcnow
from ..reminders import planning
from .workup_path import follow_appointments

#: The longest location a reminder can carry beside its date, time and reply words in one
#: 160-character text; a longer one (entered before this limit) is shortened when sent.
LOCATION_MAX = 60
LOCATION_TOO_LONG = (
    f"keep the location to {LOCATION_MAX} characters or fewer, so a reminder fits in one text"
    " (put directions in the preparation notes)"
)
#: The longest preparation notes the day-before text can carry in one message of at most
#: 320 characters, beside the program's name and the date; longer instructions belong on
#: paper or in a phone call.
PREP_MAX = 200
PREP_TOO_LONG = (
    f"keep the preparation notes to {PREP_MAX} characters or fewer, so they fit in one text"
    " (give longer instructions on paper or by phone)"
)


class AppointmentError(ValueError):
    """The details cannot make or change an appointment; ``field`` says which one."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@cache
def _known_zones() -> frozenset[str]:
    # Reading the tz database's index takes tens of milliseconds: once per process.
    return frozenset(available_timezones())


def _zone(name: str) -> ZoneInfo:
    if not name or name not in _known_zones():
        raise AppointmentError(
            "timezone", f"unknown time zone {name!r} (use a name like America/Chicago)"
        )
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        raise AppointmentError("timezone", f"unknown time zone {name!r}") from None


#: How a coordinator says which of a time that happens twice (the clocks go back) is meant.
REPEATED_CHOICES = ("first", "second")


def to_utc(local: datetime, zone_name: str, repeated: str | None = None) -> datetime:
    """Site-local wall time to naive UTC.

    A time that does not exist that day (the clocks go forward over it) is refused; one
    that happens twice (the clocks go back) needs ``repeated``: "first" or "second".

    :raise AppointmentError: unknown zone, a time that does not exist, or a repeated time
        without ``repeated`` (field ``repeated``, naming both choices).
    """
    zone = _zone(zone_name)
    local = local.replace(tzinfo=None)
    kind = timefmt.wall_kind(local, zone)
    if kind == timefmt.SKIPPED:
        raise AppointmentError(
            "at",
            f"{local:%H:%M} does not exist on {local:%Y-%m-%d} in {zone_name}: the clocks "
            "go forward over it. Choose another time.",
        )
    if kind == timefmt.REPEATED and repeated not in REPEATED_CHOICES:
        first, second = timefmt.at_wall(local, zone), timefmt.at_wall(local, zone, second=True)
        raise AppointmentError(
            "repeated",
            f"{local:%H:%M} happens twice on {local:%Y-%m-%d} in {zone_name} (the clocks go "
            f"back). Say which: the first ({first:%Z}, UTC{first:%z}) or the second "
            f"({second:%Z}, UTC{second:%z}).",
        )
    return timefmt.wall_to_utc(
        local, zone, second=kind == timefmt.REPEATED and repeated == "second"
    )


def local_start(appointment: Appointment) -> datetime:
    """The appointment's start as an aware datetime in the site's zone."""
    return timefmt.local(appointment.starts_at, appointment.timezone)


def _check_future(starts_at: datetime, now: datetime) -> None:
    if starts_at <= now:
        raise AppointmentError("at", "that time is in the past")


def check_details(kind: str, location: str, prep_notes: str | None) -> tuple[str, str | None]:
    """The location and notes trimmed, once kind, location and notes pass the rules.

    :raise AppointmentError: unknown kind, no location or a too long one, long notes.
    """
    if kind not in APPOINTMENT_KINDS:
        raise AppointmentError(
            "kind", f"unknown kind {kind!r} (one of {', '.join(APPOINTMENT_KINDS)})"
        )
    location = (location or "").strip()
    if not location:
        raise AppointmentError("location", "a location is required")
    if len(location) > LOCATION_MAX:
        raise AppointmentError("location", LOCATION_TOO_LONG)
    prep_notes = (prep_notes or "").strip() or None
    if len(prep_notes or "") > PREP_MAX:
        raise AppointmentError("prep", PREP_TOO_LONG)
    return location, prep_notes


def schedule(
    patient: Patient,
    kind: str,
    starts_at_local: datetime,
    timezone: str,
    location: str,
    prep_notes: str | None = None,
    now: datetime | None = None,
    repeated: str | None = None,
) -> Appointment:
    """Add an appointment and plan its reminders; the caller commits.

    ``repeated`` says which of a time that happens twice is meant (see ``to_utc``).

    :raise AppointmentError: unknown kind or zone, no location or a too long one, or a time
        in the past.
    """
    now = now or utcnow()
    location, prep_notes = check_details(kind, location, prep_notes)
    starts_at = to_utc(starts_at_local, timezone, repeated)
    _check_future(starts_at, now)
    appointment = Appointment(
        patient=patient,
        kind=kind,
        starts_at=starts_at,
        timezone=timezone,
        location=location,
        prep_notes=prep_notes,
        status="scheduled",
    )
    db.session.add(appointment)
    db.session.flush()
    planning.plan_new(appointment, now)
    follow_appointments(patient.id)
    return appointment


def move(
    appointment: Appointment,
    starts_at_local: datetime,
    timezone: str | None = None,
    now: datetime | None = None,
    repeated: str | None = None,
) -> Appointment:
    """Give the appointment a new time; its pending reminders are replaced. The caller commits.

    A moved appointment is ``scheduled`` again: the patient has not confirmed the new time.

    :raise AppointmentError: unknown zone, a time in the past, or a cancelled appointment.
    """
    now = now or utcnow()
    if appointment.status in ("cancelled", "done"):
        raise AppointmentError("id", f"appointment {appointment.id} is {appointment.status}")
    zone = timezone or appointment.timezone
    starts_at = to_utc(starts_at_local, zone, repeated)
    _check_future(starts_at, now)
    appointment.starts_at = starts_at
    appointment.timezone = zone
    appointment.status = "scheduled"
    db.session.flush()
    planning.replace_pending(appointment, now)
    follow_appointments(appointment.patient_id)
    return appointment


def cancel(appointment: Appointment, now: datetime | None = None) -> Appointment:
    """Cancel the appointment and every reminder not yet sent; the caller commits."""
    now = now or utcnow()
    appointment.status = "cancelled"
    db.session.flush()
    planning.replace_pending(appointment, now)
    follow_appointments(appointment.patient_id)
    return appointment


def close(appointment: Appointment, status: str, now: datetime | None = None) -> Appointment:
    """The appointment is over without a cancellation: ``missed`` (a no-show the
    scheduling system reported) or ``done``. Its unsent reminders are withdrawn, as for a
    cancellation; the caller commits."""
    if status not in ("missed", "done"):
        raise AppointmentError("status", f"cannot close an appointment as {status!r}")
    now = now or utcnow()
    appointment.status = status
    db.session.flush()
    planning.replace_pending(appointment, now)
    return appointment


def change_details(
    appointment: Appointment, kind: str, location: str, prep_notes: str | None
) -> list[str]:
    """Change what the appointment is and where, checked as ``schedule`` checks them;
    returns the names of what changed. The caller commits.

    :raise AppointmentError: unknown kind, no location or a too long one, long notes.
    """
    location, prep_notes = check_details(kind, location, prep_notes)
    changed = []
    for name, value in (("kind", kind), ("location", location), ("prep_notes", prep_notes)):
        if getattr(appointment, name) != value:
            setattr(appointment, name, value)
            changed.append(name)
    return changed


def replan(patient: Patient, now: datetime | None = None) -> int:
    """Re-plan the pending reminders of every upcoming appointment; the caller commits.

    For when what reminders depend on changes (the patient's zone, quiet hours, channel or
    caregiver): in the same session as that change, so no reminder planned under the old
    settings is left to go out. Returns how many appointments were re-planned.
    """
    now = now or utcnow()
    db.session.flush()
    ahead = upcoming(patient, now)
    for appointment in ahead:
        planning.replace_pending(appointment, now)
    return len(ahead)


def upcoming(patient: Patient, now: datetime) -> list[Appointment]:
    """The patient's active appointments that have not started, soonest first."""
    return list(
        db.session.scalars(
            db.select(Appointment)
            .where(
                Appointment.patient_id == patient.id,
                Appointment.status.in_(ACTIVE),
                Appointment.starts_at > now,
            )
            .order_by(Appointment.starts_at, Appointment.id)
        )
    )


def next_for(patient: Patient, now: datetime) -> Appointment | None:
    """The next scheduled, confirmed or reschedule-requested appointment still ahead."""
    found = upcoming(patient, now)
    return found[0] if found else None
