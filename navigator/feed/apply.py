"""Applying a scheduling system's appointment changes: matching, mapping, ordering.

One ``ScheduleEvent`` (from an HL7 SIU message or a CSV row) becomes a call to the same
``appointments.schedule``/``move``/``cancel`` the coordinator app makes, so reminders are
planned, re-planned and withdrawn exactly as when a coordinator does it.

What must never happen, and what stops it:
- a reminder for the wrong person: patients are matched by MRN with its assigning
  authority AND the date of birth, never by phone or name; anything else is a problem
  for a coordinator, and no appointment is made until it is resolved;
- a guessed kind, place or time: unknown service codes and locations, and local times
  that a DST change makes ambiguous or impossible, are problems too;
- an old message undoing a new one: each source appointment keeps the newest MSH-7
  applied and its tombstone when cancelled (``FeedAppointment``), and changes to one
  appointment are serialised (an advisory lock on PostgreSQL; SQLite has one writer).

Nothing here commits: the caller commits the outcome with the message it came from.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, bindparam, literal, text
from sqlalchemy.orm import joinedload

from .. import timefmt
from ..core import phones
from ..core.name_search import fold
from ..extensions import db
from ..models import Appointment, FeedAppointment, Patient, ServiceCode, SiteLocation, utcnow
from ..patients import appointments
from ..patients.appointments import AppointmentError
from ..reminders import planning
from .siu import ENDINGS, LocalTime, ScheduleEvent

#: What each problem is called on the coordinators' feed page.
PROBLEMS = {
    "not_enrolled": "No enrolled patient has this MRN",
    "dob_mismatch": "The date of birth differs from the one on file",
    "no_dob_on_file": "The patient has no date of birth on file to check",
    "several_patients": "The message's identifiers match more than one patient",
    "no_mrn": "The message has no MRN from the expected assigning authority",
    "unknown_service": "Unknown service code",
    "unknown_location": "Unknown location code",
    "no_start": "The message has no start time",
    "ambiguous_time": "The local time happens twice (clocks go back)",
    "impossible_time": "The local time does not exist (clocks go forward)",
    "refused": "The appointment rules refused the change",
    "changed_after_cancel": "A change came for an appointment cancelled earlier",
    "control_id_reused": "A control id came again with different content",
    "details_differ": "The message's name, mobile number or language differs from ours",
    "details_seen": "A coordinator has seen the message's differing details",
    "noshow": "The patient did not come",
    "error": "The message could not be processed",
}


@dataclass
class Outcome:
    """What applying one event did. ``problem`` set means a coordinator must look."""

    status: str  # applied | ignored | needs_review
    detail: str = ""
    problem: str | None = None
    patient_id: int | None = None
    appointment_id: int | None = None
    #: The matched patient's name, number or language on file differs from the message's:
    #: a proposal for a coordinator, never applied.
    details_differ: bool = False


# The statements every message runs, built once: at a hundred messages a second, building
# a statement's expression anew costs more CPU than PostgreSQL spends running it.
#: The source appointment's record (its newest change applied, its tombstone) with the
#: service code's and the location's mappings, in one round trip: a booking or a change
#: needs all three, an ending only the first. Any may be missing; each is unique.
_KNOWN_AND_MAPPINGS = (
    db.select(FeedAppointment, ServiceCode, SiteLocation)
    .select_from(db.select(literal(1).label("one")).subquery())
    .outerjoin(
        FeedAppointment,
        and_(
            FeedAppointment.source == bindparam("source"),
            FeedAppointment.external_id == bindparam("external_id"),
        ),
    )
    .outerjoin(ServiceCode, ServiceCode.code == bindparam("service"))
    .outerjoin(SiteLocation, SiteLocation.code == bindparam("location"))
)
#: The patient with their caregivers in the same round trip: planning reminders needs both.
_PATIENT_BY_MRN = (
    db.select(Patient)
    .where(Patient.mrn == bindparam("mrn"), Patient.mrn_authority == bindparam("authority"))
    .options(joinedload(Patient.caregivers))
)


def _review(problem: str, detail: str = "", patient_id: int | None = None) -> Outcome:
    return Outcome("needs_review", detail or PROBLEMS[problem], problem, patient_id)


def lock_key(event: ScheduleEvent) -> int | None:
    """The advisory lock that serialises changes to one source appointment across
    listener threads and processes; None where there are no such locks (SQLite, which
    has one writer at a time anyway)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return None
    return zlib.crc32(f"{event.source}|{event.external_id}".encode())


def _lock(event: ScheduleEvent) -> None:
    key = lock_key(event)
    if key is not None:
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def match_patient(event: ScheduleEvent) -> tuple[Patient | None, str | None]:
    """The one patient whose MRN (with authority) and date of birth both match, or a problem.

    Only identifiers of type MR (or untyped) count, from ``HL7_MRN_AUTHORITY`` when set.
    """
    wanted = current_app.config["HL7_MRN_AUTHORITY"]
    ids = [
        pid
        for pid in event.patient_ids
        if pid.id_type in ("MR", "") and (not wanted or pid.authority == wanted)
    ]
    if not ids:
        return None, "no_mrn"
    found: dict[int, Patient] = {}
    for pid in ids:
        rows = db.session.execute(_PATIENT_BY_MRN, {"mrn": pid.value, "authority": pid.authority})
        patient = rows.unique().scalar_one_or_none()
        if patient is not None:
            found[patient.id] = patient
    if not found:
        return None, "not_enrolled"
    if len(found) > 1:
        return None, "several_patients"
    patient = next(iter(found.values()))
    if patient.date_of_birth is None:
        return patient, "no_dob_on_file"
    if event.birth_date != patient.date_of_birth:
        return patient, "dob_mismatch"
    return patient, None


def differing_details(proposed: dict, patient: Patient | None) -> list[tuple[str, str, str]]:
    """(what, in the message, on file) for each name, mobile number or language the
    message gives that is not what the patient has on file. Shown to a coordinator as a
    proposal; nothing here changes the patient. Names compare folded (case, accents,
    punctuation), numbers as E.164."""
    on_file = {
        "name": patient.name if patient else "",
        "phone": patient.phone if patient else "",
        "language": patient.language if patient else "",
    }
    same = {
        "name": lambda theirs, ours: fold(theirs) == fold(ours),
        "phone": lambda theirs, ours: _e164(theirs) == _e164(ours),
        "language": lambda theirs, ours: theirs == ours,
    }
    return [
        (what, value, on_file[what] or "")
        for what, value in proposed.items()
        if value and what in same and not same[what](value, on_file[what] or "")
    ]


def _e164(number: str) -> str:
    try:
        return phones.to_e164(number)
    except phones.InvalidPhone:
        return number


def _wall_time(start: LocalTime, zone_name: str) -> tuple[datetime | None, str | None]:
    """The site-local wall time of the start, or the problem with it.

    With an offset the instant is certain; without one it is read in the site's zone,
    and a wall time that happens twice or never that day is refused, not guessed.
    """
    zone = ZoneInfo(zone_name)
    aware = start.aware()
    if aware is not None:
        return timefmt.local_wall(timefmt.to_utc(aware), zone), None
    kind = timefmt.wall_kind(start.wall, zone)
    if kind != timefmt.ONCE:
        return None, "ambiguous_time" if kind == timefmt.REPEATED else "impossible_time"
    return start.wall, None


@dataclass
class Mapping:
    """The event's service code and location as mapped on the site, read with the source
    appointment's record (``_KNOWN_AND_MAPPINGS``); None where the code is unknown."""

    service: ServiceCode | None
    location: SiteLocation | None

    def problem(self) -> str | None:
        if self.service is None:
            return "unknown_service"
        if self.location is None:
            return "unknown_location"
        return None


def apply(event: ScheduleEvent, now: datetime | None = None, *, locked: bool = False) -> Outcome:
    """Make the change the event describes, in the session; the caller commits.

    ``locked``: this transaction already holds the appointment's ``lock_key`` (the
    listener takes it in the statement that looks for a resend, saving a round trip).

    :raise sqlalchemy.exc.OperationalError: the database is unreachable (no ACK then).
    """
    now = now or utcnow()
    if not locked:
        _lock(event)
    known, service, location = db.session.execute(
        _KNOWN_AND_MAPPINGS,
        {
            "source": event.source,
            "external_id": event.external_id,
            "service": event.service_code,
            "location": event.location_code,
        },
    ).one()
    if (
        known is not None
        and known.message_time is not None
        and event.message_time is not None
        and event.message_time < known.message_time
    ):
        return Outcome("ignored", "older than the last change applied to this appointment")
    if event.action in ENDINGS:
        return _end(event, known, now)
    return _book_or_change(event, known, Mapping(service, location), now)


def _remember(event: ScheduleEvent, known: FeedAppointment | None, state: str, appointment_id):
    if known is None:
        known = FeedAppointment(source=event.source, external_id=event.external_id)
        db.session.add(known)
    known.state = state
    known.appointment_id = appointment_id or known.appointment_id
    if event.message_time is not None:
        known.message_time = max(filter(None, (known.message_time, event.message_time)))
    return known


def _end(event: ScheduleEvent, known: FeedAppointment | None, now: datetime) -> Outcome:
    """Cancel, delete, no-show or complete: withdraw unsent reminders, keep a tombstone."""
    state = {"cancel": "cancelled", "delete": "deleted", "noshow": "noshow"}.get(
        event.action, "complete"
    )
    appointment = (
        known and known.appointment_id and db.session.get(Appointment, known.appointment_id)
    )
    _remember(event, known, state, None)
    if not appointment:
        return Outcome("applied", f"{state} before any booking was seen; kept so none is made")
    if event.action == "noshow" and appointment.status == "missed":
        outcome = Outcome("ignored", "marked missed already", patient_id=appointment.patient_id)
    elif event.action == "noshow":
        appointments.close(appointment, "missed", now)
        outcome = _review("noshow", patient_id=appointment.patient_id)
    elif event.action == "complete":
        appointments.close(appointment, "done", now)
        outcome = Outcome("applied", "completed", patient_id=appointment.patient_id)
    elif appointment.status != "cancelled":
        appointments.cancel(appointment, now)
        outcome = Outcome("applied", state, patient_id=appointment.patient_id)
    else:
        outcome = Outcome("ignored", "cancelled already", patient_id=appointment.patient_id)
    outcome.appointment_id = appointment.id
    return outcome


def _book_or_change(
    event: ScheduleEvent, known: FeedAppointment | None, mapping: Mapping, now
) -> Outcome:
    # Loaded once and held here: the session keeps an unchanged object only while someone
    # holds it, so a second look-up would cost a second SELECT.
    current = known and known.appointment_id and db.session.get(Appointment, known.appointment_id)
    outcome = _booked_or_changed(event, known, mapping, current or None, now)
    if outcome.problem and current and current.status in appointments.ACTIVE:
        # A change we cannot apply may be a new time or place: the reminders for the old
        # one must not go out meanwhile. Applying it later plans them again.
        planning.withdraw_unsent(current)
        outcome.detail = f"{outcome.detail}; its reminders are held until this is resolved"
        outcome.appointment_id = current.id
    return outcome


def _booked_or_changed(
    event: ScheduleEvent,
    known: FeedAppointment | None,
    mapping: Mapping,
    current: Appointment | None,
    now,
) -> Outcome:
    if known is not None and known.state != "booked":
        if event.action == "book":
            return Outcome("ignored", f"a booking for an appointment {known.state} earlier")
        return _review("changed_after_cancel")
    patient, problem = match_patient(event)
    if problem:
        return _review(problem, patient_id=patient.id if patient else None)
    service, location, problem = mapping.service, mapping.location, mapping.problem()
    if problem:
        code = event.service_code if problem == "unknown_service" else event.location_code
        return _review(problem, f"{PROBLEMS[problem]}: {code or '(empty)'}", patient.id)
    if event.start is None:
        return _review("no_start", patient_id=patient.id)
    wall, problem = _wall_time(event.start, location.timezone)
    if problem:
        return _review(problem, patient_id=patient.id)
    try:
        if not current:
            made = appointments.schedule(
                patient, service.kind, wall, location.timezone, location.address,
                location.prep_note, now,
            )  # fmt: skip
            changed = ["booked"]
        else:
            made, changed = current, _change(current, service, location, wall, now)
    except AppointmentError as exc:
        return _review("refused", f"{PROBLEMS['refused']}: {exc}", patient.id)
    _remember(event, known, "booked", made.id)
    status, detail = ("applied", ", ".join(changed)) if changed else ("ignored", "nothing changed")
    differ = bool(differing_details(event.proposed, patient))
    return Outcome(status, detail, None, patient.id, made.id, details_differ=differ)


def _change(appointment, service, location, wall: datetime, now) -> list[str]:
    """Move and re-describe an existing appointment; what changed, by name.

    Everything is checked before anything changes, so a refused change leaves no half.
    """
    appointments.check_details(service.kind, location.address, location.prep_note)
    changed = appointments.change_details(
        appointment, service.kind, location.address, location.prep_note
    )
    if timefmt.local_wall(appointment.starts_at, appointment.timezone) != wall or (
        appointment.timezone != location.timezone
    ):
        appointments.move(appointment, wall, location.timezone, now)
        changed.insert(0, "moved")
    else:
        # Also when nothing changed: reminders held for an earlier problem come back.
        planning.replace_pending(appointment, now)
    return changed
