"""Dates and times as a patient reads or hears them, in their language and the site's zone.

Day and month names come from messages/<lang>/prompts.yaml (calendar.*), so the worker,
which has no request and no locale, formats exactly as the webhooks do.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from .catalog import catalog


def local(starts_at_utc: datetime, zone: str) -> datetime:
    """A stored naive-UTC time in ``zone``."""
    return starts_at_utc.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))


def clock(moment: datetime, language: str) -> str:
    words = catalog()
    hour = moment.hour % 12 or 12
    ampm = words.render(
        "prompts.calendar.am" if moment.hour < 12 else "prompts.calendar.pm", language
    )
    return words.render(
        "prompts.calendar.time", language, hour=hour, minute=f"{moment:%M}", ampm=ampm
    )


def day(moment: datetime, language: str, short: bool = False) -> str:
    words = catalog()
    suffix = "_short" if short else ""
    return words.render(
        f"prompts.calendar.date{suffix or '_long'}",
        language,
        day=words.get(f"prompts.calendar.days{suffix}", language)[moment.weekday()],
        month=words.get(f"prompts.calendar.months{suffix}", language)[moment.month - 1],
        date=moment.day,
    )


def spoken_datetime(starts_at_utc: datetime, zone: str, language: str) -> str:
    """ "Tuesday, December 1, 9:00 AM" in the site's zone."""
    moment = local(starts_at_utc, zone)
    return f"{day(moment, language)}, {clock(moment, language)}"
