"""Program measures: days from a suspected recurrence to biopsy, results and treatment,
checked against figures worked out by hand."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from coordinator_support import make_coordinator, sign_in

from navigator.coordinator.measure_pages import recorded_tally
from navigator.extensions import db
from navigator.patients.enrolment import NewPatient, enroll
from navigator.patients.measures import Dates, figure, measures, tally
from navigator.patients.workups import Workup

# Four patients suspected in January 2026 and one in February (Spanish-speaking: B, E).
#   A: suspected 5 Jan, biopsy 12 Jan (7 days), results 22 Jan (17), treatment 2 Feb (28)
#   B: suspected 10 Jan, biopsy 20 Jan (10), results 3 Feb (24), no treatment yet
#   C: suspected 15 Jan, biopsy 19 Jan (4), results 29 Jan (14), treatment 20 Feb (36)
#   D: suspected 20 Jan, biopsy 9 Feb (20), no results yet
#   E: suspected 3 Feb, biopsy 1 Feb: before the suspicion, a typing error left out
# To biopsy, January: 4, 7, 10, 20 -> median (7+10)/2 = 8.5; 25th percentile at position
# 0.75: 4 + 0.75 * 3 = 6.25; 75th at position 2.25: 10 + 0.25 * 10 = 12.5.
# To biopsy by language: English (A, C, D) 4, 7, 20 -> median 7; Spanish (B) 10.
# To results, January: 14, 17, 24 -> median 17, 25th 15.5, 75th 20.5.
# To treatment, January: 28, 36 -> median 32, n = 2.
PATIENTS = [
    ("A", "en", date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 22), date(2026, 2, 2)),
    ("B", "es", date(2026, 1, 10), date(2026, 1, 20), date(2026, 2, 3), None),
    ("C", "en", date(2026, 1, 15), date(2026, 1, 19), date(2026, 1, 29), date(2026, 2, 20)),
    ("D", "en", date(2026, 1, 20), date(2026, 2, 9), None, None),
    ("E", "es", date(2026, 2, 3), date(2026, 2, 1), None, None),
]


def rows():
    return tally([Dates(s, lang, b, r, t) for _, lang, s, b, r, t in PATIENTS])


def by(found, milestone, grouping):
    return next(m for m in found if m.milestone == milestone and m.by == grouping)


def test_days_to_biopsy_by_month_match_the_hand_computed_figures():
    biopsy = by(measures(rows()), "biopsy_on", "month")
    [january] = biopsy.figures  # February's only biopsy is dated before the suspicion
    assert (january.group, january.n, january.median) == ("2026-01", 4, 8.5)
    assert (january.q1, january.q3, january.shortest, january.longest) == (6.25, 12.5, 4, 20)
    assert biopsy.excluded == 1


def test_days_to_biopsy_by_language_and_to_results_and_treatment():
    found = measures(rows())
    language = {f.group: f for f in by(found, "biopsy_on", "language").figures}
    assert (language["English"].median, language["English"].n) == (7, 3)
    assert (language["Spanish"].median, language["Spanish"].n) == (10, 1)
    results = by(found, "results_on", "month").figures[0]
    assert (results.n, results.median, results.q1, results.q3) == (3, 17, 15.5, 20.5)
    treatment = by(found, "treatment_on", "month").figures[0]
    assert (treatment.n, treatment.median) == (2, 32)


def test_a_single_patient_is_their_own_median():
    assert figure("x", [9]) == figure("x", [9]).__class__("x", 1, 9, 9, 9, 9, 9)


@pytest.fixture
def recorded(app, client):
    make_coordinator()
    sign_in(client)
    for i, (name, lang, suspected, biopsy, results, treatment) in enumerate(PATIENTS):
        patient = enroll(NewPatient(f"Patient {name}", f"+1617555020{i}", lang, "UTC", "sms"))
        db.session.flush()
        workup = db.session.scalar(db.select(Workup).filter_by(patient_id=patient.id))
        workup.suspected_on, workup.biopsy_on = suspected, biopsy
        workup.results_on, workup.treatment_on = results, treatment
    db.session.commit()


def test_the_page_shows_each_figure_as_a_chart_with_a_table_beside_it(client, recorded):
    html = client.get("/measures").get_data(as_text=True)
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg"') == 6
    assert 'role="img" aria-labelledby="chart-0-title chart-0-desc"' in html
    assert "2026-01: median 8.5 days, middle half 6.25 to 12.5, 4 patients" in html
    assert "<td>4</td><td>8.5</td><td>6.25 to 12.5</td><td>4 to 20</td>" in html
    assert "1 patient left out" in html


def test_the_csv_holds_the_same_figures_and_no_patient_details(client, recorded):
    response = client.get("/measures.csv")
    assert response.mimetype == "text/csv"
    lines = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    january = next(
        row
        for row in lines
        if row["measure"] == "Suspected recurrence to biopsy" and row["group"] == "2026-01"
    )
    assert (january["patients"], january["median_days"], january["q1_days"]) == ("4", "8.5", "6.25")
    assert "Patient A" not in response.get_data(as_text=True)


def kept_counts() -> list[tuple]:
    return sorted(tuple(row) for row in recorded_tally())


def test_the_kept_counts_follow_every_change_of_dates_and_language(app, client, recorded):
    from navigator.models import Patient
    from navigator.patients.workups import recount

    def workup(name):
        return db.session.scalar(
            db.select(Workup)
            .join(Patient, Patient.id == Workup.patient_id)
            .where(Patient.name == f"Patient {name}")
        )

    workup("A").biopsy_on = date(2026, 1, 14)  # 7 days -> 9
    workup("D").biopsy_on = None  # a date typed by mistake, taken back
    db.session.get(Patient, workup("B").patient_id).language = "en"
    db.session.commit()

    # January to biopsy is now A 9, B 10, C 4: median 9; 25th percentile at position 0.5:
    # 4 + 0.5 * 5 = 6.5; 75th at 1.5: 9 + 0.5 * 1 = 9.5. All three speak English now.
    biopsy = by(measures(recorded_tally()), "biopsy_on", "month").figures[0]
    assert (biopsy.n, biopsy.median, biopsy.q1, biopsy.q3) == (3, 9, 6.5, 9.5)
    language = by(measures(recorded_tally()), "biopsy_on", "language").figures
    assert [(f.group, f.n, f.median) for f in language] == [("English", 3, 9)]
    html = client.get("/measures").get_data(as_text=True)
    assert "2026-01: median 9 days, middle half 6.5 to 9.5, 3 patients" in html
    # What was kept along the way is what counting every workup again gives.
    kept = kept_counts()
    recount()
    db.session.commit()
    assert kept_counts() == kept


def test_a_new_patient_counts_once_their_suspected_date_is_recorded(app, client, recorded):
    from navigator.coordinator.measure_pages import _patients_with_a_date

    assert _patients_with_a_date(recorded_tally()) == 5
    enroll(NewPatient("Patient F", "+16175550299", "en", "UTC", "sms"))
    db.session.commit()
    assert _patients_with_a_date(recorded_tally()) == 5  # no suspected date yet
    enroll(
        NewPatient("Patient G", "+16175550298", "en", "UTC", "sms", suspected_on=date(2026, 3, 2))
    )
    db.session.commit()
    assert _patients_with_a_date(recorded_tally()) == 6
    assert ("suspected_on", "2026-03", "en", 0, 1) in kept_counts()
