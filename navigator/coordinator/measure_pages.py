"""The program measures page and its CSV export, for a program manager's report.

Figures come from ``navigator.measures`` over the recorded dates of every workup with a
suspected-recurrence date (open or closed); the page draws each as an SVG chart with a
table of the same figures beside it. Only counts and days leave the page: the CSV holds
no names, numbers or dates of any patient.
"""

from __future__ import annotations

import csv
import io

from flask import Response, render_template

from ..extensions import db
from ..patients.measures import Tally, measures
from ..patients.workups import MeasureCount
from .blueprint import bp
from .charts import box_chart, days


def recorded_tally() -> list[Tally]:
    """Patients counted per milestone, month of suspicion, language and days: the tally
    kept as dates are recorded (``workups.MeasureCount``), a few hundred rows however
    many patients there are."""
    rows = db.session.execute(
        db.select(
            MeasureCount.milestone,
            MeasureCount.month,
            MeasureCount.language,
            MeasureCount.days,
            MeasureCount.patients,
        ).where(MeasureCount.patients > 0)
    ).all()
    return [tuple(row) for row in rows]


def _patients_with_a_date(counts: list[Tally]) -> int:
    return sum(n for milestone, *_, n in counts if milestone == "suspected_on")


@bp.get("/measures")
def measures_page():
    """Median and spread of days to biopsy, results and treatment, by month and language."""
    counts = recorded_tally()
    found = measures(counts)
    charts = [box_chart(m, f"chart-{i}") for i, m in enumerate(found)]
    return render_template(
        "coordinator/measures.html",
        measures=list(zip(found, charts, strict=True)),
        patients=_patients_with_a_date(counts),
        days=days,
    )


@bp.get("/measures.csv")
def measures_csv():
    """The same figures as a spreadsheet: one line per measure, grouping and group."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "measure",
            "by",
            "group",
            "patients",
            "median_days",
            "q1_days",
            "q3_days",
            "shortest_days",
            "longest_days",
        ]
    )
    for m in measures(recorded_tally()):
        for f in m.figures + ([m.overall] if m.overall else []):
            writer.writerow(
                [
                    m.label,
                    m.by,
                    f.group,
                    f.n,
                    days(f.median),
                    days(f.q1),
                    days(f.q3),
                    f.shortest,
                    f.longest,
                ]
            )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=program-measures.csv"},
    )
