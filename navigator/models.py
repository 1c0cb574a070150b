"""The navigator's tables, and tiny helpers on them. No business rules live here.

Times are stored as naive UTC (``utcnow()``); conversion to a person's zone happens
where the time is shown or planned. Message bodies live in the database (coordinators
read them on the patient's timeline) and never in logs.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .core.name_search import fold
from .extensions import db


def insert(model):
    """An INSERT that can say ON CONFLICT, for whichever database is in use.

    PostgreSQL and SQLite (3.24+) both support ``ON CONFLICT`` and ``RETURNING``; the hot
    webhook paths use them to dedupe and upsert in one round trip.
    """
    if db.engine.dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


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
        return is_opted_out(self.opted_out_at, self.opted_in_at)


def is_opted_out(opted_out_at: datetime | None, opted_in_at: datetime | None) -> bool:
    """The opt-out rule, the one place it is written: a number that said STOP gets nothing
    until it says START (or enrols again) after that. The hot path reads the two times
    without loading a Contact and asks here too."""
    return opted_out_at is not None and (opted_in_at is None or opted_in_at < opted_out_at)


def contact_upsert(phone, now):
    """INSERT a number's contact row, or only touch ``updated_at`` if it exists.

    ``phone`` and ``now`` may be values or bound parameters. One statement, so two first
    messages from one number arriving at once cannot both try to create the row; add
    ``.returning(...)`` for what the caller needs.
    """
    return contact_insert(phone, now).on_conflict_do_update(
        index_elements=["phone"], set_={"updated_at": now}
    )


def contact_insert(phone, now):
    """A new number's contact row as an INSERT that can say ON CONFLICT (its defaults in
    one place; see ``contact_upsert``, and turns.py, which reads a known row without
    writing it)."""
    return insert(Contact).values(
        phone=phone,
        language="en",
        language_chosen=False,
        menu_node="main",
        menu_page=0,
        failed_checks=0,
        created_at=now,
        updated_at=now,
    )


class Patient(db.Model):
    """An enrolled patient. Keyed by mobile number in E.164.

    ``mrn`` with ``mrn_authority`` (the hospital's medical record number and who issued
    it, HL7 PID-3.1 and PID-3.4) is how the scheduling feed finds the patient, together
    with the date of birth; never the phone or the name.
    """

    __tablename__ = "patients"
    __table_args__ = (
        UniqueConstraint("mrn_authority", "mrn", name="uq_patients_mrn"),
        # The search looks inside the folded name and the number: trigrams on PostgreSQL
        # (migration 053b0d52d89f), a plain index elsewhere.
        Index(
            "ix_patients_search",
            "search_name",
            "phone",
            postgresql_using="gin",
            postgresql_ops={"search_name": "gin_trgm_ops", "phone": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    #: The name folded for search (name_search.fold), kept in step by ``_fold_name``.
    search_name: Mapped[str] = mapped_column(String(120), default="")
    #: Keeps its old value on change, for the measures' counts (workups.MeasureCount).
    language: Mapped[str] = mapped_column(String(2), default="en", active_history=True)
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    channel: Mapped[str] = mapped_column(String(5), default="sms")  # sms | voice
    quiet_start: Mapped[str] = mapped_column(String(5), default="21:00")
    quiet_end: Mapped[str] = mapped_column(String(5), default="08:00")
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    mrn: Mapped[str | None] = mapped_column(String(40))
    mrn_authority: Mapped[str | None] = mapped_column(String(60))
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

    @validates("name")
    def _fold_name(self, _key: str, value: str) -> str:
        self.search_name = fold(value)[:120]
        return value


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
#: How staff name each kind (the coordinator app, audit rows, inbox items).
KIND_LABELS = {
    "ct": "CT scan",
    "pet-ct": "PET-CT scan",
    "bone-scan": "Bone scan",
    "mri": "MRI",
    "biopsy": "Biopsy",
    "visit": "Treatment-planning visit",
}
APPOINTMENT_STATUSES = (
    "scheduled",
    "confirmed",
    "reschedule_requested",
    "cancelled",
    "done",
    "missed",  # the scheduling system reported a no-show
)
#: Statuses of an appointment still ahead of the patient, which reminders and replies are
#: about (the rest are closed). Here, below both reminders and patients, so both read one.
ACTIVE = ("scheduled", "confirmed", "reschedule_requested")


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
    lease runs out, and the next tick takes them back (see reminders/worker.py).
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
    #: The coordinator who sent this text or started this call from the app (None: the
    #: navigator itself, or the patient).
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("coordinators.id"))


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


#: In the order the inbox shows them: the most urgent first.
ALERT_KINDS = (
    "red_flag",
    "voicemail",
    "callback",
    "question",
    "identity_locked",
    "reschedule",
    "notice_waiting",
    "delivery_failed",
)


class Alert(db.Model):
    """Something a person on the care team must act on."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("kind", "source_sid", name="uq_alerts_kind_source_sid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    phone: Mapped[str] = mapped_column(String(20))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    detail: Mapped[str] = mapped_column(String(300), default="")  # a rule id or reason
    recording_url: Mapped[str | None] = mapped_column(String(500))
    # The Twilio SID that raised it, where one may be posted twice (a RecordingSid).
    source_sid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("coordinators.id"))
    #: Who is working on it (claimed, or assigned by a colleague), and since when.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("coordinators.id"))
    owned_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: How it was closed: one of inbox_items.OUTCOMES, and the coordinator's note.
    outcome: Mapped[str | None] = mapped_column(String(30))
    outcome_note: Mapped[str | None] = mapped_column(String(500))


class Coordinator(UserMixin, db.Model):
    """A nurse navigator who signs in to the web app."""

    __tablename__ = "coordinators"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str | None] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    #: The phone a call from the app rings first (E.164), kept from the last such call.
    phone: Mapped[str | None] = mapped_column(String(20))
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

        key = current_app.config["SECRET_KEY"].encode()
        message = f"{self.id}:{self.password_hash}:{self.active}".encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()[:24]


class SignInCounter(db.Model):
    """Sign-in tries of an unknown email or a client address, keyed by a keyed digest
    (``coordinator/sign_in_limit.py``); a real account counts on its own row."""

    __tablename__ = "sign_in_counters"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AuditEvent(db.Model):
    """Who changed what, and when. Written for every coordinator change."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("coordinators.id"))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    #: The patient the change or view concerns, whatever the record (an appointment, an
    #: inbox item): the audit log is filtered by it and the patient's timeline reads it.
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


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


FEED_STATUSES = (
    "received",  # being applied: a row is committed only with its outcome
    "applied",  # the appointment was made, moved or cancelled
    "ignored",  # nothing to change: older than what is known, or cancelled already
    "needs_review",  # a coordinator must look: unmatched patient, unknown code, ...
    # (once a coordinator applies it again, its new outcome, with resolved_at/_by set)
    "rejected",  # wrong message type or version (ACK AR)
    "unparseable",  # not HL7 we can read (ACK AE)
    "dismissed",  # a coordinator decided nothing is to be done
)


class FeedMessage(db.Model):
    """Every message the scheduling feed sent, kept before it is acknowledged.

    The key a sender resends under is (sending application, facility, control id); the
    SHA-256 of the bytes tells a true resend (same ACK, nothing changes) from a reused
    control id with new content (a coordinator looks). ``raw`` is the message exactly as
    received, even bytes that do not parse; it is purged (set to NULL) after
    ``HL7_RETENTION_DAYS`` while the key, hash and outcome stay, so a late resend is still
    recognised. ``problem`` and ``detail`` name fields and codes, never patient data.
    A row whose status is ``needs_review`` is an item on the coordinators' feed page.
    """

    __tablename__ = "feed_messages"
    __table_args__ = (
        UniqueConstraint(
            "sending_app",
            "sending_facility",
            "control_id",
            "content_hash",
            name="uq_feed_messages_key",
        ),
        Index("ix_feed_messages_status", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(10), default="hl7")  # hl7 | csv
    sending_app: Mapped[str] = mapped_column(String(180), default="")
    sending_facility: Mapped[str] = mapped_column(String(180), default="")
    control_id: Mapped[str] = mapped_column(String(199), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    message_type: Mapped[str] = mapped_column(String(20), default="")
    version: Mapped[str] = mapped_column(String(10), default="")
    message_time: Mapped[datetime | None] = mapped_column(DateTime)  # MSH-7, UTC
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default="received")
    ack_code: Mapped[str | None] = mapped_column(String(2))
    problem: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(String(300), default="")
    external_id: Mapped[str | None] = mapped_column(String(80))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    purged_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("coordinators.id"))


class FeedAppointment(db.Model):
    """An appointment as the scheduling system knows it, keyed by the system's own id.

    ``source`` is the sender (MSH-3^MSH-4, or ``csv``) and ``external_id`` its SCH-2
    (else SCH-1). The row outlives a cancellation, and may exist before any booking (a
    cancel that came first): it is the tombstone that stops a late S12 bringing a
    cancelled appointment back. ``message_time`` is the newest MSH-7 applied, so an
    older message never overwrites a newer one.
    """

    __tablename__ = "feed_appointments"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_feed_appointments_source_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str] = mapped_column(String(80))
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    state: Mapped[str] = mapped_column(String(20))  # booked | cancelled | deleted | noshow
    message_time: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class ServiceCode(db.Model):
    """What the scheduling system's service code (AIS-3, else SCH-7/8) means to us: a kind."""

    __tablename__ = "service_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(120), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class SiteLocation(db.Model):
    """A location code (AIL-3) and what patients are told: where, in which zone, how to
    get ready. The zone is the one the feed's times without an offset are read in."""

    __tablename__ = "site_locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    address: Mapped[str] = mapped_column(String(60))
    timezone: Mapped[str] = mapped_column(String(64))
    prep_note: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
