"""Time zones and dates in words: the one place a time moves between UTC and a zone.

The database keeps naive UTC; people live in zones (a site's, a patient's, a coordinator's).
Every conversion between the two is here, so daylight-saving time is handled once
(tests/test_one_home.py fails on a conversion written anywhere else).

Dates and times as a patient reads or hears them come from messages/<lang>/prompts.yaml
(calendar.*), so the worker, which has no request and no locale, formats exactly as the
webhooks do.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo
from zoneinfo import ZoneInfo

from .catalog import catalog

#: What a wall-clock time is on a day the clocks change: it happens once, never (the
#: clocks go forward over it) or twice (they go back).
ONCE, SKIPPED, REPEATED = "once", "skipped", "repeated"


def _zone(zone: str | tzinfo) -> tzinfo:
    """A zone by its IANA name, or a zone (or fixed offset) as given."""
    return zone if isinstance(zone, tzinfo) else ZoneInfo(zone)


def local(naive_utc: datetime, zone: str | tzinfo) -> datetime:
    """A stored naive-UTC time in ``zone`` (aware)."""
    return naive_utc.replace(tzinfo=UTC).astimezone(_zone(zone))


def local_date(naive_utc: datetime, zone: str | tzinfo) -> date:
    """The day a stored naive-UTC time falls on in ``zone``."""
    return local(naive_utc, zone).date()


def local_wall(naive_utc: datetime, zone: str | tzinfo) -> datetime:
    """A stored naive-UTC time as the naive wall-clock time in ``zone``."""
    return local(naive_utc, zone).replace(tzinfo=None)


def now_in(zone: str | tzinfo) -> datetime:
    """The time now in ``zone`` (aware)."""
    return datetime.now(_zone(zone))


def to_utc(moment: datetime) -> datetime:
    """An aware time as the database keeps it: naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def at_wall(wall: datetime, zone: str | tzinfo, *, second: bool = False) -> datetime:
    """A naive wall-clock time in ``zone`` (aware); ``second`` picks the later of a time
    that happens twice."""
    return wall.replace(tzinfo=_zone(zone), fold=1 if second else 0)


def wall_to_utc(wall: datetime, zone: str | tzinfo, *, second: bool = False) -> datetime:
    """A naive wall-clock time in ``zone`` as naive UTC (see ``wall_kind`` for DST days)."""
    return to_utc(at_wall(wall, zone, second=second))


def midnight_utc(day: date, zone: str | tzinfo) -> datetime:
    """The start of ``day`` in ``zone``, as naive UTC."""
    return wall_to_utc(datetime.combine(day, time()), zone)


def wall_kind(wall: datetime, zone: str | tzinfo) -> str:
    """Whether a naive wall-clock time happens ONCE, never (SKIPPED) or twice (REPEATED)."""
    first, second = at_wall(wall, zone), at_wall(wall, zone, second=True)
    if first.utcoffset() == second.utcoffset():
        return ONCE
    return REPEATED if local_wall(to_utc(first), zone) == wall else SKIPPED


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


def date_and_time(naive_utc: datetime, zone: str, language: str) -> dict[str, str]:
    """The ``{date}`` and ``{time}`` of a text ("Tue Dec 1", "9:00 AM") in ``zone``."""
    moment = local(naive_utc, zone)
    return {"date": day(moment, language, short=True), "time": clock(moment, language)}
