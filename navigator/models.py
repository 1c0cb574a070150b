"""The navigator's tables, and tiny helpers on them. No business rules live here.

Times are stored as naive UTC (``utcnow()``); conversion to a person's zone happens
where the time is shown or planned. Message bodies live in the database (coordinators
read them on the patient's timeline) and never in logs.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def insert(model):
    """An INSERT that can say ON CONFLICT, for whichever database is in use.

    PostgreSQL and SQLite (3.24+) both support ``ON CONFLICT`` and ``RETURNING``; the hot
    webhook paths use them to dedupe and upsert in one round trip.
    """
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(model)


def utcnow() -> datetime:
    """The current time as naive UTC, the form every column stores."""
    return datetime.now(UTC).replace(tzinfo=None)


class Contact(db.Model):
    """Any phone number the navigator talks with: a patient, a caregiver or a stranger.

    Opt-out is a fact about a number (carriers treat it so), so it lives here, as does
    the conversation state and the language, which unknown callers also have.
    """

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    language: Mapped[str] = mapped_column(String(2), default="en")
    language_chosen: Mapped[bool] = mapped_column(Boolean, default=False)
    menu_node: Mapped[str] = mapped_column(String(40), default="main")
    menu_page: Mapped[int] = mapped_column(Integer, default=0)
    opted_out_at: Mapped[datetime | None] = mapped_column(DateTime)
    opted_in_at: Mapped[datetime | None] = mapped_column(DateTime)
    verified_call_sid: Mapped[str | None] = mapped_column(String(64))
    failed_checks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    @property
    def opted_out(self) -> bool:
        return self.opted_out_at is not None and (
            self.opted_in_at is None or self.opted_in_at < self.opted_out_at
        )


def contact_upsert(phone, now):
    """INSERT a number's contact row, or only touch ``updated_at`` if it exists.

    ``phone`` and ``now`` may be values or bound parameters. One statement, so two first
    messages from one number arriving at once cannot both try to create the row; add
    ``.returning(...)`` for what the caller needs.
    """
    return (
        insert(Contact)
        .values(
            phone=phone,
            language="en",
            language_chosen=False,
            menu_node="main",
            menu_page=0,
            failed_checks=0,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_update(index_elements=["phone"], set_={"updated_at": now})
    )


class Patient(db.Model):
    """An enrolled patient. Keyed by mobile number in E.164."""

    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(2), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    channel: Mapped[str] = mapped_column(String(5), default="sms")  # sms | voice
    quiet_start: Mapped[str] = mapped_column(String(5), default="21:00")
    quiet_end: Mapped[str] = mapped_column(String(5), default="08:00")
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    detailed_texts: Mapped[bool] = mapped_column(Boolean, default=False)
    detailed_texts_at: Mapped[datetime | None] = mapped_column(DateTime)
    detailed_texts_how: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    appointments: Mapped[list[Appointment]] = relationship(
        back_populates="patient", order_by="Appointment.starts_at"
    )
    caregivers: Mapped[list[Caregiver]] = relationship(back_populates="patient")
    consents: Mapped[list[Consent]] = relationship(back_populates="patient")

    @property
    def zone(self) -> str:
        """The zone quiet hours are kept in (a caregiver's may differ: Caregiver.zone)."""
        return self.timezone


class Caregiver(db.Model):
    """A second number that may get copies, with the patient's consent and scope."""

    __tablename__ = "caregivers"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    phone: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(120))
    # reminders: copies of appointment reminders; none: on record only
    scope: Mapped[str] = mapped_column(String(20), default="reminders")
    consent_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    consent_how: Mapped[str | None] = mapped_column(String(200))
    # Where the caregiver lives, for their quiet hours (the site's default hours); None: the
    # patient's zone and quiet hours.
    timezone: Mapped[str | None] = mapped_column(String(64))

    patient: Mapped[Patient] = relationship(back_populates="caregivers")

    @property
    def quiet_start(self) -> str | None:
        return None if self.timezone else self.patient.quiet_start

    @property
    def quiet_end(self) -> str | None:
        return None if self.timezone else self.patient.quiet_end

    @property
    def zone(self) -> str:
        return self.timezone or self.patient.timezone


class Consent(db.Model):
    """Consent to texts: who obtained it, when, how, and what the patient was told."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    obtained_by: Mapped[str] = mapped_column(String(200))
    obtained_at: Mapped[datetime] = mapped_column(DateTime)
    method: Mapped[str] = mapped_column(String(40))  # in person, phone, paper form, web
    disclosures: Mapped[str] = mapped_column(Text)  # what was told, one item a line
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    patient: Mapped[Patient] = relationship(back_populates="consents")


APPOINTMENT_KINDS = ("ct", "pet-ct", "bone-scan", "mri", "biopsy", "visit")
APPOINTMENT_STATUSES = ("scheduled", "confirmed", "reschedule_requested", "cancelled", "done")


class Appointment(db.Model):
    """An imaging, biopsy or planning appointment at a site with its own time zone."""

    __tablename__ = "appointments"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    starts_at: Mapped[datetime] = mapped_column(DateTime)  # UTC
    timezone: Mapped[str] = mapped_column(String(64))  # the site's IANA zone
    location: Mapped[str] = mapped_column(String(300))
    prep_notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24), default="scheduled")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    patient: Mapped[Patient] = relationship(back_populates="appointments")
    reminders: Mapped[list[Reminder]] = relationship(back_populates="appointment")


REMINDER_STATUSES = (
    "pending",
    "sending",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "cancelled",
    "skipped",
)


class Reminder(db.Model):
    """One planned reminder: a row the worker claims when it is due.

    ``lease_until`` makes claiming safe: a worker that dies mid-batch leaves rows whose
    lease runs out, and the next tick takes them back (see reminders.py).
    """

    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), index=True)
    recipient_phone: Mapped[str] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(10), default="patient")  # patient | caregiver
    channel: Mapped[str] = mapped_column(String(5), default="sms")
    offset: Mapped[str] = mapped_column(String(8))  # as configured: 3d, 1d, 2h
    due_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    provider_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    error_code: Mapped[str | None] = mapped_column(String(16))
    error_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    appointment: Mapped[Appointment] = relationship(back_populates="reminders")


class Message(db.Model):
    """Every text in and out, and every call, for the patient's timeline and delivery state.

    ``transport`` says where an outbound message went: ``twilio`` or ``outbox`` (the
    embedded mode's local stand-in, listed by ``flask outbox``).
    """

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("provider_sid", name="uq_messages_provider_sid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    channel: Mapped[str] = mapped_column(String(5), default="sms")  # sms | voice
    phone: Mapped[str] = mapped_column(String(20), index=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminders.id"))
    provider_sid: Mapped[str | None] = mapped_column(String(64))
    content_key: Mapped[str | None] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text, default="")
    transport: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default="received")
    error_code: Mapped[str | None] = mapped_column(String(16))
    status_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class MessageReading(db.Model):
    """How the navigator read an inbound message it was unsure of, or passed to a person.

    Kept for two people: the coordinator who answers a "question for a person" (every
    message added to that inbox item has a row pointing at it) and the one who labels what
    the navigator did not understand, so the team can grow the corpus. The words stay in
    ``messages``; this row holds only the reading and the label.
    """

    __tablename__ = "message_readings"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    intent: Mapped[str] = mapped_column(String(40))
    confidence: Mapped[float] = mapped_column(Float)
    understood: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(2))
    label: Mapped[str | None] = mapped_column(String(40))  # the right intent, by a coordinator
    labelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("coordinators.id"))
    labelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class EarlyReport(db.Model):
    """A delivery report that came before its SID was recorded, kept until it is.

    Twilio can report on a text or call (a reminder call nobody answered) before the sender
    has written down the SID it got back. ``delivery.record`` keeps such a report here, and
    ``delivery.apply_early`` applies it once the SID is known, so none is lost.
    """

    __tablename__ = "early_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[str | None] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


ALERT_KINDS = ("red_flag", "voicemail", "callback", "reschedule", "delivery_failed", "question")


class Alert(db.Model):
    """Something a person on the care team must act on."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    phone: Mapped[str] = mapped_column(String(20))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    detail: Mapped[str] = mapped_column(String(300), default="")  # a rule id or reason
    recording_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("coordinators.id"))


class Coordinator(UserMixin, db.Model):
    """A nurse navigator who signs in to the web app."""

    __tablename__ = "coordinators"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str | None] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    #: Sessions that began before this moment are over (sign-out, a new password).
    sessions_valid_after: Mapped[datetime | None] = mapped_column(DateTime)
    #: An admin set this password: the coordinator must choose their own first.
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )

    @property
    def is_active(self) -> bool:  # Flask-Login asks this
        return self.active

    def get_id(self) -> str:
        """What the session cookie holds: the id and a token that changes with the password.

        A new password (or a deactivated account) therefore ends every other session of
        this coordinator, on every browser, at its next request.
        """
        return f"{self.id}.{self.session_token()}"

    def session_token(self) -> str:
        from flask import current_app

        key = current_app.config["SECRET_KEY"].encode()
        message = f"{self.id}:{self.password_hash}:{self.active}".encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()[:24]


class AuditEvent(db.Model):
    """Who changed what, and when. Written for every coordinator change."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("coordinators.id"))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


WORKUP_STAGES = ("imaging", "biopsy", "results", "planning")  # in the order they should happen
WORKUP_STATUSES = ("not_started", "scheduled", "done", "not_needed")


class WorkupStage(db.Model):
    """One stage of a patient's workup, as the coordinator tracks it.

    Stages: imaging, biopsy, receptor and genomic results, the treatment-planning visit.
    """

    __tablename__ = "workup_stages"
    __table_args__ = (
        UniqueConstraint("patient_id", "stage", name="uq_workup_stages_patient_stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="not_started")
    on_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(300))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("coordinators.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class SendPacing(db.Model):
    """One row: the earliest time (epoch seconds, the database's clock) the next send may go.

    Every worker process paces its sends through this row, so ``SEND_RATE_PER_SECOND`` is
    the rate of the number, however many workers run (see reminders.SharedRateLimiter).
    """

    __tablename__ = "send_pacing"

    id: Mapped[int] = mapped_column(primary_key=True)
    next_at: Mapped[float] = mapped_column(Float)


PATIENT_EVENT_KINDS = ("opted_out", "opted_in", "confirmed", "reschedule_requested")


class PatientEvent(db.Model):
    """Something a patient did or agreed to, one row each time: never updated or deleted.

    The timeline is built from these rows because the current state forgets: a contact
    keeps only its latest opt-out and opt-in, an appointment only its latest status (a
    moved appointment is ``scheduled`` again). Written in the transaction of the change it
    records. Opt-outs belong to a number, so ``phone`` is always set, ``patient_id`` when
    the number is enrolled. ``channel``: sms, voice or coordinator (None: backfilled).
    """

    __tablename__ = "patient_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    channel: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
