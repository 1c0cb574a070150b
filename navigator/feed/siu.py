"""Reading HL7 v2 SIU scheduling messages into a ``ScheduleEvent``: parsing only.

No database and no Flask here. python-hl7 does the parsing (it has no model of message
structure, so the fields are named here). What we take, and from where:

- the appointment's id: SCH-2 (the filler's, which the scheduler sets), else SCH-1;
- the start: TQ1-7 (v2.5+), else SCH-11.4 (v2.3-2.4), else AIS-4, else AIL-6, with the
  value's own offset; without one the caller reads it in the location's configured zone
  (never UTC, and not MSH-7's offset, which is the offset on the day it was sent and
  is wrong for an appointment on the other side of a DST change);
- the service code: AIS-3, else SCH-8, else SCH-7; the location: AIL-3, else PV1-3;
- the patient: every PID-3 repetition (id, assigning authority, id type) and PID-7;
  PID-5, PID-13 and PID-15 only become proposals for a coordinator;
- what happened: the trigger (S12 ... S26), overridden by SCH-25 when it says the
  appointment was cancelled, deleted, missed or completed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import hl7

from .. import timefmt

#: The versions the listener accepts (MSH-12); anything else is answered AR.
VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1")
#: Trigger events and what each means to the navigator.
TRIGGERS = {
    "S12": "book",
    "S13": "reschedule",
    "S14": "modify",
    "S15": "cancel",
    "S17": "delete",
    "S26": "noshow",
}
#: SCH-25 filler status codes (HL7 table 0278) that override the trigger.
STATUS_OVERRIDES = {
    "cancelled": "cancel",
    "deleted": "delete",
    "noshow": "noshow",
    "complete": "complete",
}
ENDINGS = ("cancel", "delete", "noshow", "complete")

_DTM = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?([+-]\d{4})?$")
_LANGUAGES = {"en": "en", "eng": "en", "english": "en", "es": "es", "spa": "es", "spanish": "es"}


class Unreadable(ValueError):
    """The bytes are not an HL7 v2 message we can read (answered AE)."""


class Refused(ValueError):
    """A readable message of a type or version we do not take (answered AR)."""


@dataclass(frozen=True)
class Header:
    """What MSH says, readable even when the rest is not; never patient data."""

    sending_app: str = ""
    sending_facility: str = ""
    receiving_app: str = ""
    receiving_facility: str = ""
    control_id: str = ""
    message_type: str = ""
    version: str = ""
    message_time: datetime | None = None  # aware when MSH-7 had an offset
    accept_ack: str = ""  # MSH-15: set means enhanced mode
    #: The whole parsed message, so reading the event and building the ACK parse once.
    parsed: hl7.Message | None = field(default=None, compare=False, repr=False)

    @property
    def source(self) -> str:
        """Who the appointment ids belong to: the sending application at its facility."""
        return f"{self.sending_app}^{self.sending_facility}"


@dataclass(frozen=True)
class LocalTime:
    """A time as sent: ``wall`` is naive; ``offset`` is None when the sender gave none."""

    wall: datetime
    offset: timedelta | None

    def aware(self) -> datetime | None:
        return None if self.offset is None else timefmt.at_wall(self.wall, timezone(self.offset))


@dataclass(frozen=True)
class PatientId:
    value: str
    authority: str
    id_type: str


@dataclass(frozen=True)
class ScheduleEvent:
    """One change to one appointment, from the feed or from a row of a CSV import."""

    action: str  # book | reschedule | modify | cancel | delete | noshow | complete
    source: str
    external_id: str
    message_time: datetime | None  # naive UTC, for ordering
    start: LocalTime | None
    service_code: str
    location_code: str
    patient_ids: tuple[PatientId, ...]
    birth_date: date | None
    proposed: dict = field(default_factory=dict)  # name, phone, language: never applied


def content_hash(raw: bytes) -> str:
    """The SHA-256 that tells a true resend from a reused control id with new content."""
    return hashlib.sha256(raw).hexdigest()


def parse_time(value: str) -> LocalTime | None:
    """An HL7 DTM (``YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]``), or None if empty.

    :raise ValueError: not a DTM.
    """
    value = (value or "").strip()
    if not value:
        return None
    found = _DTM.match(value)
    if not found:
        raise ValueError("not an HL7 date and time")
    year, month, day, hour, minute, second, zone = found.groups()
    wall = datetime(
        int(year),
        int(month or 1),
        int(day or 1),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
    )
    offset = None
    if zone:
        sign = -1 if zone[0] == "-" else 1
        offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
    return LocalTime(wall, offset)


def _field(message: hl7.Message, path: str) -> str:
    """A field by python-hl7's accessor (``'SCH.F2'``), or '' when it is not there."""
    try:
        return str(message[path] or "").strip()
    except (KeyError, IndexError, ValueError):
        return ""


def _decode(raw: bytes, encoding: str) -> str:
    text = raw.decode(encoding, "replace").replace("\r\n", "\r").replace("\n", "\r")
    return text.strip("\x0b\x1c\r ")


def read_header(raw: bytes, encoding: str = "utf-8", sent_zone: str = "") -> Header:
    """MSH's fields, for the key, the log line and the ACK. An MSH-7 without an offset is
    the sender's local time: read in ``sent_zone`` (the site's), so messages compare in
    order whether or not the sender writes offsets.

    :raise Unreadable: no MSH segment to read.
    """
    text = _decode(raw, encoding)
    if not text.startswith("MSH") or len(text) < 8:
        raise Unreadable("the message does not begin with MSH")
    try:
        message = hl7.parse(text)
    except (hl7.ParseException, KeyError, IndexError, ValueError) as exc:
        raise Unreadable("the message cannot be parsed") from exc
    stamp = None
    try:
        sent = parse_time(_field(message, "MSH.F7"))
    except ValueError:
        sent = None
    if sent is not None:
        stamp = sent.aware() or (timefmt.at_wall(sent.wall, sent_zone) if sent_zone else sent.wall)
    kind = _field(message, "MSH.F9.R1.C1")
    trigger = _field(message, "MSH.F9.R1.C2")
    return Header(
        sending_app=_field(message, "MSH.F3.R1.C1"),
        sending_facility=_field(message, "MSH.F4.R1.C1"),
        receiving_app=_field(message, "MSH.F5.R1.C1"),
        receiving_facility=_field(message, "MSH.F6.R1.C1"),
        control_id=_field(message, "MSH.F10"),
        message_type=f"{kind}^{trigger}" if trigger else kind,
        version=_field(message, "MSH.F12.R1.C1"),
        message_time=stamp,
        accept_ack=_field(message, "MSH.F15").upper(),
        parsed=message,
    )


def check_kind(header: Header) -> None:
    """:raise Refused: not an SIU event we handle, or not a version we read."""
    kind, _, trigger = header.message_type.partition("^")
    if kind != "SIU" or trigger not in TRIGGERS:
        raise Refused(f"message type {header.message_type or 'missing'} is not accepted")
    if header.version not in VERSIONS:
        raise Refused(f"version {header.version or 'missing'} is not accepted (2.3 to 2.5.1)")


def _start(message: hl7.Message) -> LocalTime | None:
    for path in ("TQ1.F7", "SCH.F11.R1.C4", "AIS.F4", "AIL.F6"):
        value = _field(message, path)
        if value:
            return parse_time(value)
    return None


def _patient_ids(message: hl7.Message) -> tuple[PatientId, ...]:
    try:
        repetitions = message.segment("PID")[3]
    except (KeyError, IndexError):
        return ()
    found = []
    for rep in repetitions:
        if not isinstance(rep, hl7.Repetition):
            rep = [[str(rep)]]
        parts = [str(rep[i][0]).strip() if len(rep) > i else "" for i in range(5)]
        if parts[0]:
            found.append(PatientId(parts[0], parts[3], parts[4].upper()))
    return tuple(found)


def _birth_date(message: hl7.Message) -> date | None:
    value = _field(message, "PID.F7")
    if len(value) < 8 or not value[:8].isdigit():
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return None


def _proposed(message: hl7.Message) -> dict:
    """PID's name, mobile number and language, offered to a coordinator, never applied."""
    proposed = {}
    family, given = _field(message, "PID.F5.R1.C1"), _field(message, "PID.F5.R1.C2")
    if family or given:
        proposed["name"] = " ".join(p for p in (given, family) if p)
    number = _field(message, "PID.F13.R1.C1")
    area, local = _field(message, "PID.F13.R1.C6"), _field(message, "PID.F13.R1.C7")
    if area and local:
        number = f"{area}{local}"
    if number:
        proposed["phone"] = number
    language = _LANGUAGES.get(_field(message, "PID.F15.R1.C1").lower())
    if language:
        proposed["language"] = language
    return proposed


def to_utc(moment: datetime | None) -> datetime | None:
    """An aware time as naive UTC; a naive one stays as it is (ordering only)."""
    if moment is None or moment.tzinfo is None:
        return moment
    return timefmt.to_utc(moment)


def read_event(
    raw: bytes, encoding: str = "utf-8", header: Header | None = None, sent_zone: str = ""
) -> tuple[Header, ScheduleEvent]:
    """The header (read again unless given) and the appointment change the message describes.

    :raise Unreadable: not HL7, or no SCH segment, or a date that is not a date.
    :raise Refused: not an SIU event we take, or another version.
    """
    header = header or read_header(raw, encoding, sent_zone)
    check_kind(header)
    message = header.parsed
    external_id = _field(message, "SCH.F2.R1.C1") or _field(message, "SCH.F1.R1.C1")
    if not external_id:
        raise Unreadable("SCH-2 and SCH-1 are both empty")
    try:
        start = _start(message)
    except ValueError as exc:
        raise Unreadable("the start time is not an HL7 date and time") from exc
    action = TRIGGERS[header.message_type.partition("^")[2]]
    action = STATUS_OVERRIDES.get(_field(message, "SCH.F25.R1.C1").lower(), action)
    service = (
        _field(message, "AIS.F3.R1.C1")
        or _field(message, "SCH.F8.R1.C1")
        or _field(message, "SCH.F7.R1.C1")
    )
    location = _field(message, "AIL.F3.R1.C1") or _field(message, "PV1.F3.R1.C1")
    event = ScheduleEvent(
        action=action,
        source=header.source,
        external_id=external_id[:80],
        message_time=to_utc(header.message_time),
        start=start,
        service_code=service[:80],
        location_code=location[:80],
        patient_ids=_patient_ids(message),
        birth_date=_birth_date(message),
        proposed=_proposed(message),
    )
    return header, event
