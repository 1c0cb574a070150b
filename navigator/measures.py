"""Program measures: how many days from a suspected recurrence to the biopsy, to the
receptor results and to the start of treatment, by month and by language.

Pure arithmetic over recorded dates (the workup's ``suspected_on`` and milestone dates);
nothing is estimated or filled in. A patient counts in a figure only when both of its
dates are recorded; a milestone dated before the suspicion is a typing error, left out of
the figure and counted (``excluded``) so it can be found and corrected.

Spread is the interquartile range (25th to 75th percentile), with the shortest and
longest; percentiles interpolate linearly between the sorted values (the "inclusive"
method of ``statistics.quantiles``, the default of spreadsheets and numpy), so a report
can be checked by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

INTERVALS = (
    ("biopsy_on", "Suspected recurrence to biopsy"),
    ("results_on", "Suspected recurrence to receptor results"),
    ("treatment_on", "Suspected recurrence to treatment start"),
)
LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}


@dataclass(frozen=True)
class Dates:
    """One patient's recorded dates."""

    suspected_on: date
    language: str
    biopsy_on: date | None
    results_on: date | None
    treatment_on: date | None


@dataclass(frozen=True)
class Figure:
    group: str
    n: int
    median: float
    q1: float
    q3: float
    shortest: int
    longest: int


@dataclass
class Measure:
    milestone: str
    label: str
    by: str  # month | language
    figures: list[Figure]
    overall: Figure | None
    excluded: int


def percentile(ordered: list[int], fraction: float) -> float:
    """The value ``fraction`` of the way along ``ordered`` (sorted), interpolating."""
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def figure(group: str, days: list[int]) -> Figure:
    ordered = sorted(days)
    return Figure(
        group,
        len(ordered),
        percentile(ordered, 0.5),
        percentile(ordered, 0.25),
        percentile(ordered, 0.75),
        ordered[0],
        ordered[-1],
    )


def _group(row: Dates, by: str) -> str:
    if by == "month":
        return row.suspected_on.strftime("%Y-%m")
    return LANGUAGE_NAMES.get(row.language, row.language)


def measures(rows: list[Dates]) -> list[Measure]:
    """Every interval by month of suspicion and by language, groups in order."""
    found = []
    for milestone, label in INTERVALS:
        for by in ("month", "language"):
            groups: dict[str, list[int]] = {}
            excluded = 0
            for row in rows:
                end = getattr(row, milestone)
                if end is None:
                    continue
                days = (end - row.suspected_on).days
                if days < 0:
                    excluded += 1
                    continue
                groups.setdefault(_group(row, by), []).append(days)
            figures = [figure(name, groups[name]) for name in sorted(groups)]
            every = [d for days in groups.values() for d in days]
            overall = figure("All patients", every) if every else None
            found.append(Measure(milestone, label, by, figures, overall, excluded))
    return found
