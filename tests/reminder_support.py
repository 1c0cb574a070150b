"""A reminder call placed by the worker, as several test files need one."""

from __future__ import annotations

from datetime import datetime

from navigator.extensions import db
from navigator.patients import appointments
from navigator.reminders import worker

BOOKED_AT = datetime(2026, 2, 1)
CT_AT = datetime(2026, 2, 12, 14, 0)  # a CT scan at Mercy Imaging, New York time
DAY_BEFORE = datetime(2026, 2, 9, 19, 0)  # the worker's tick that places the 3-day call


def book_ct_and_tick(patient, at: datetime = DAY_BEFORE) -> None:
    """Book a CT for ``patient`` and run the worker's tick at ``at``."""
    appointments.schedule(patient, "ct", CT_AT, "America/New_York", "Mercy Imaging", now=BOOKED_AT)
    db.session.commit()
    worker.send_due(at, "w")
