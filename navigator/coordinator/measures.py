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
from ..measures import Dates, measures
from ..models import Patient
from ..workups import Workup
from . import bp
from .charts import box_chart, days


def recorded_dates() -> list[Dates]:
    rows = db.session.execute(
        db.select(
            Workup.suspected_on,
            Patient.language,
            Workup.biopsy_on,
            Workup.results_on,
            Workup.treatment_on,
        )
        .join(Patient, Patient.id == Workup.patient_id)
        .where(Workup.suspected_on.is_not(None))
    ).all()
    return [Dates(*row) for row in rows]


@bp.get("/measures")
def measures_page():
    """Median and spread of days to biopsy, results and treatment, by month and language."""
    rows = recorded_dates()
    found = measures(rows)
    charts = [box_chart(m, f"chart-{i}") for i, m in enumerate(found)]
    return render_template(
        "coordinator/measures.html",
        measures=list(zip(found, charts, strict=True)),
        patients=len(rows),
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
    for m in measures(recorded_dates()):
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
