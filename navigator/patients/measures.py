"""Program measures: how many days from a suspected recurrence to the biopsy, to the
receptor results and to the start of treatment, by month and by language.

Pure arithmetic over recorded dates (the workup's ``suspected_on`` and milestone dates);
nothing is estimated or filled in. The input is a tally, ``(milestone, month, language,
days, patients)``, patients counted per number of days (a few hundred rows for thousands
of patients): ``tally`` makes it from rows of dates, and the app keeps it in the database
as dates are recorded (``workups.MeasureCount``). A patient counts in a figure only when
both of its dates are recorded; a milestone dated before the suspicion is a typing error, left out of
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


Tally = tuple[str, str, str, int, int]  # milestone, YYYY-MM, language, days, patients


def tally(rows: list[Dates]) -> list[Tally]:
    """Count patients per milestone, month of suspicion, language and number of days."""
    counts: dict[Tally, int] = {}
    for row in rows:
        # Every patient with a suspected date, as day 0 of "suspected_on": how many there are.
        key = ("suspected_on", row.suspected_on.strftime("%Y-%m"), row.language, 0)
        counts[key] = counts.get(key, 0) + 1
        for milestone, _ in INTERVALS:
            end = getattr(row, milestone)
            if end is not None:
                key = (milestone, row.suspected_on.strftime("%Y-%m"), row.language)
                key += ((end - row.suspected_on).days,)
                counts[key] = counts.get(key, 0) + 1
    return [(*key, n) for key, n in counts.items()]


def measures(counts: list[Tally]) -> list[Measure]:
    """Every interval by month of suspicion and by language, groups in order."""
    found = []
    for milestone, label in INTERVALS:
        mine = [c for c in counts if c[0] == milestone]
        for by in ("month", "language"):
            groups: dict[str, list[int]] = {}
            excluded = 0
            for _, month, language, days, n in mine:
                if days < 0:
                    excluded += n
                    continue
                name = month if by == "month" else LANGUAGE_NAMES.get(language, language)
                groups.setdefault(name, []).extend([days] * n)
            figures = [figure(name, groups[name]) for name in sorted(groups)]
            every = [d for days in groups.values() for d in days]
            overall = figure("All patients", every) if every else None
            found.append(Measure(milestone, label, by, figures, overall, excluded))
    return found
