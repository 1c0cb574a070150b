"""Bulk import of appointments from a CSV file, for sites without an interface.

Each row becomes the same ``ScheduleEvent`` an HL7 message becomes and goes through the
same matching (MRN + authority + date of birth) and mapping (service and location
tables) in ``schedule_feed``. ``preview`` applies every row and rolls everything back,
so what it shows is what applying will do; ``apply_rows`` applies the rows that can be
applied in ONE transaction and leaves the others, listed, for the coordinator to fix.
Applying audits every row's match decision (by patient id and line, never by value), as
the listener audits every message's.

The template (``TEMPLATE_HEADER``; docs/scheduling-feed.md explains each column):

    appointment_id,mrn,mrn_authority,date_of_birth,start,service_code,location_code,status

- ``appointment_id``: the scheduling system's id for the appointment, so a second import
  of the same file changes nothing and a later one moves or cancels it;
- ``start``: ``YYYY-MM-DD HH:MM`` in the location's local time (or with an offset,
  ``2027-01-15T09:30-05:00``);
- ``status``: ``booked`` (default) or ``cancelled``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app

from ..audit.records import record
from ..extensions import db
from ..models import utcnow
from . import apply as schedule_feed
from .siu import LocalTime, PatientId, ScheduleEvent

TEMPLATE_HEADER = (
    "appointment_id",
    "mrn",
    "mrn_authority",
    "date_of_birth",
    "start",
    "service_code",
    "location_code",
    "status",
)
REQUIRED = ("appointment_id", "mrn", "date_of_birth", "start", "service_code", "location_code")
STATUSES = {"": "book", "booked": "book", "cancelled": "cancel", "canceled": "cancel"}
SOURCE = "csv"
MAX_ROWS = 5000


class ImportFileError(ValueError):
    """The file as a whole cannot be read (wrong columns, not CSV, too long)."""


@dataclass
class RowResult:
    """What one row did (or would do): shown in the preview and after applying."""

    line: int
    appointment_id: str
    status: str  # applied | ignored | needs_review | invalid
    detail: str
    patient_id: int | None = None
    problem: str | None = None  # why a row needs a person (schedule_feed.PROBLEMS)


def template() -> str:
    """The header line and one example row, for the download link."""
    example = "A1001,E1234567,MAINHOSP,1965-04-12,2027-01-15 09:30,CTCAP,RAD1,booked"
    return ",".join(TEMPLATE_HEADER) + "\r\n" + example + "\r\n"


def read_rows(data: bytes) -> list[dict]:
    """The file's rows as dicts keyed by the template's columns.

    :raise ImportFileError: not UTF-8 CSV, a required column missing, or too many rows.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError("the file is not UTF-8 text (save it as CSV UTF-8)") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise ImportFileError(f"missing column(s): {', '.join(missing)} (use the template)")
    reader.fieldnames = columns
    rows = []
    for row in reader:
        rows.append({k: (v or "").strip() for k, v in row.items() if k})
        if len(rows) > MAX_ROWS:
            raise ImportFileError(f"more than {MAX_ROWS} rows: split the file")
    return rows


def _start(value: str) -> LocalTime:
    moment = datetime.fromisoformat(value.replace(" ", "T", 1))
    offset = moment.utcoffset()
    return LocalTime(moment.replace(tzinfo=None), offset)


def to_event(row: dict, now: datetime) -> ScheduleEvent:
    """:raise ValueError: a value is missing or malformed; the message names the column."""
    for name in REQUIRED:
        if not row.get(name):
            raise ValueError(f"{name} is empty")
    action = STATUSES.get(row.get("status", "").lower())
    if action is None:
        raise ValueError("status must be booked or cancelled")
    try:
        birth = date.fromisoformat(row["date_of_birth"])
    except ValueError:
        raise ValueError("date_of_birth is not a date like 1965-04-12") from None
    try:
        start = _start(row["start"])
    except ValueError:
        raise ValueError("start is not a time like 2027-01-15 09:30") from None
    authority = row.get("mrn_authority") or current_app.config["HL7_MRN_AUTHORITY"]
    return ScheduleEvent(
        action=action,
        source=SOURCE,
        external_id=row["appointment_id"][:80],
        message_time=now,
        start=start,
        service_code=row["service_code"][:80],
        location_code=row["location_code"][:80],
        patient_ids=(PatientId(row["mrn"][:40], authority, "MR"),),
        birth_date=birth,
    )


def _run(rows: list[dict], now: datetime) -> list[RowResult]:
    """Apply each row in turn; a row with a problem leaves no trace (``schedule_feed``
    finds every problem before it changes anything)."""
    results = []
    for line, row in enumerate(rows, start=2):
        ident = row.get("appointment_id", "")
        try:
            event = to_event(row, now)
        except ValueError as exc:
            results.append(RowResult(line, ident, "invalid", str(exc)))
            continue
        outcome = schedule_feed.apply(event, now)
        results.append(
            RowResult(
                line, ident, outcome.status, outcome.detail, outcome.patient_id, outcome.problem
            )
        )
    return results


def preview(rows: list[dict], now: datetime | None = None) -> list[RowResult]:
    """What applying would do, row by row; nothing is kept."""
    try:
        return _run(rows, now or utcnow())
    finally:
        db.session.rollback()


def apply_rows(rows: list[dict], now: datetime | None = None) -> list[RowResult]:
    """Apply every row that can be, in one transaction, and audit each row's match
    decision in it; the caller commits or rolls back."""
    results = _run(rows, now or utcnow())
    for result in results:
        if result.status == "invalid":
            decision = "not read"
        elif result.problem:
            decision = result.problem
        else:
            decision = "matched"
        record(
            "feed_import_row",
            "patient" if result.patient_id else "feed_import",
            result.patient_id,
            f"line {result.line}: patient #{result.patient_id or '-'} {decision};"
            f" {result.status}: {result.detail}",
        )
    return results
