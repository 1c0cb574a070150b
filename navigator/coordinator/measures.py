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
from sqlalchemy import Integer, func

from ..extensions import db
from ..measures import INTERVALS, Tally, measures
from ..models import Patient
from ..workups import Workup
from . import bp
from .charts import box_chart, days

#: PostgreSQL counts all three intervals in one pass over the workups (LATERAL VALUES
#: turns each workup into up to three (milestone, days) rows), instead of three.
ONE_PASS = """
    SELECT v.milestone, to_char(w.suspected_on, 'YYYY-MM'), p.language, v.days, count(*)
      FROM workups w
      JOIN patients p ON p.id = w.patient_id
     CROSS JOIN LATERAL (VALUES ('biopsy_on', w.biopsy_on - w.suspected_on),
                                ('results_on', w.results_on - w.suspected_on),
                                ('treatment_on', w.treatment_on - w.suspected_on))
           AS v(milestone, days)
     WHERE w.suspected_on IS NOT NULL AND v.days IS NOT NULL
     GROUP BY 1, 2, 3, 4
"""


def recorded_tally() -> list[Tally]:
    """Patients counted per milestone, month of suspicion, language and days, by the
    database: a few hundred rows come back however many patients there are."""
    if db.engine.dialect.name == "postgresql":
        rows = db.session.execute(db.text(ONE_PASS)).all()
        return [(m, month, language, int(d), n) for m, month, language, d, n in rows]
    counts = []
    for milestone, _ in INTERVALS:
        end = getattr(Workup, milestone)
        days = func.cast(func.julianday(end) - func.julianday(Workup.suspected_on), Integer)
        month = func.strftime("%Y-%m", Workup.suspected_on)
        rows = db.session.execute(
            db.select(month, Patient.language, days, func.count())
            .join(Patient, Patient.id == Workup.patient_id)
            .where(Workup.suspected_on.is_not(None), end.is_not(None))
            .group_by(month, Patient.language, days)
        ).all()
        counts += [(milestone, m, language, int(d), n) for m, language, d, n in rows]
    return counts


def _patients_with_a_date() -> int:
    return db.session.scalar(
        db.select(func.count(Workup.id)).where(Workup.suspected_on.is_not(None))
    )


@bp.get("/measures")
def measures_page():
    """Median and spread of days to biopsy, results and treatment, by month and language."""
    found = measures(recorded_tally())
    charts = [box_chart(m, f"chart-{i}") for i, m in enumerate(found)]
    return render_template(
        "coordinator/measures.html",
        measures=list(zip(found, charts, strict=True)),
        patients=_patients_with_a_date(),
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
