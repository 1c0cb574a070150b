"""The worklist: who is in a workup, where they are, for how long, and who is overdue."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from coordinator_support import make_coordinator, sign_in

from navigator.coordinator.worklist import site_today
from navigator.extensions import db
from navigator.models import Alert, Coordinator
from navigator.patients.enrolment import NewPatient, enroll
from navigator.patients.workup_path import refresh
from navigator.patients.workups import Barrier, Study, Workup


@pytest.fixture
def nurse(app, client):
    made = make_coordinator()
    sign_in(client)
    return made


def patient_at(name, phone, *, imaging_done_days_ago=None, language="en", suspected_days_ago=30):
    """A patient whose scans are all done (or not) some days ago."""
    patient = enroll(NewPatient(name, phone, language, "America/New_York", "sms"))
    db.session.flush()
    workup = db.session.scalar(db.select(Workup).filter_by(patient_id=patient.id))
    today = site_today()
    workup.suspected_on = today - timedelta(days=suspected_days_ago)
    if imaging_done_days_ago is not None:
        for study in db.session.scalars(db.select(Study).filter_by(workup_id=workup.id)):
            if study.kind == "ct":
                study.status = "done"
                study.done_on = today - timedelta(days=imaging_done_days_ago)
            elif study.kind in ("bone-scan", "pet-ct", "mri"):
                study.status = "not_needed"
    refresh(workup)
    db.session.commit()
    return patient


def names_in_order(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/patients/\d+/workup">([^<]+)</a>', html)


def test_a_patient_with_no_biopsy_booked_a_week_after_imaging_is_overdue(app, client, nurse):
    patient_at("Ana Ruiz", "+16175550101", imaging_done_days_ago=8)
    patient_at("Bea Cole", "+16175550102", imaging_done_days_ago=3)
    html = client.get("/worklist").get_data(as_text=True)
    assert names_in_order(html) == ["Ana Ruiz", "Bea Cole"]  # overdue first
    assert "No biopsy booked since imaging was done (8 days; limit 7)" in html
    overdue_only = client.get("/worklist?overdue=1").get_data(as_text=True)
    assert names_in_order(overdue_only) == ["Ana Ruiz"]


def test_the_overdue_limit_is_a_setting(app, app_with, nurse):
    patient_at("Ana Ruiz", "+16175550101", imaging_done_days_ago=8)
    other = app_with(OVERDUE_BIOPSY_BOOKING_DAYS=10)
    with other.test_client() as client:
        sign_in(client)
        html = client.get("/worklist?overdue=1").get_data(as_text=True)
    assert names_in_order(html) == []


def test_the_row_shows_step_days_inbox_items_and_barriers(app, client, nurse):
    patient = patient_at("Ana Ruiz", "+16175550101", imaging_done_days_ago=3, suspected_days_ago=20)
    db.session.add(Alert(kind="callback", phone=patient.phone, patient_id=patient.id))
    db.session.add(Barrier(patient_id=patient.id, kind="transport"))
    db.session.commit()
    html = client.get("/worklist").get_data(as_text=True)
    row = html[html.index("Ana Ruiz") :].split("</tr>")[0]
    cells = re.findall(r"<td>(.*?)</td>", row, re.DOTALL)
    assert cells[0] == "Biopsy" and cells[1] == "None booked"
    assert cells[2:4] == ["20", "3"]
    assert ">1</a>" in cells[4] and cells[5] == "Transport" and cells[6] == "No"


def test_sorting_by_days_in_step_and_reversing_it(app, client, nurse):
    patient_at("Ana Ruiz", "+16175550101", imaging_done_days_ago=2)
    patient_at("Bea Cole", "+16175550102", imaging_done_days_ago=5)
    longest_first = client.get("/worklist?sort=in_step&dir=desc").get_data(as_text=True)
    assert names_in_order(longest_first) == ["Bea Cole", "Ana Ruiz"]
    assert 'aria-sort="descending"' in longest_first
    shortest_first = client.get("/worklist?sort=in_step&dir=asc").get_data(as_text=True)
    assert names_in_order(shortest_first) == ["Ana Ruiz", "Bea Cole"]


def test_filters_for_language_step_and_mine(app, client, nurse):
    patient_at("Ana Ruiz", "+16175550101", language="es", imaging_done_days_ago=2)
    bea = patient_at("Bea Cole", "+16175550102")
    html = client.get("/worklist?language=es").get_data(as_text=True)
    assert names_in_order(html) == ["Ana Ruiz"]
    assert names_in_order(client.get("/worklist?step=imaging").get_data(as_text=True)) == [
        "Bea Cole"
    ]
    db.session.scalar(db.select(Workup).filter_by(patient_id=bea.id)).owner_id = db.session.scalar(
        db.select(Coordinator.id)
    )
    db.session.commit()
    assert names_in_order(client.get("/worklist?mine=1").get_data(as_text=True)) == ["Bea Cole"]


def test_the_worklist_is_paged_fifty_at_a_time(app, client, nurse):
    for i in range(51):
        patient_at(f"Patient {i:02d}", f"+1617555{1000 + i:04d}")
    first = client.get("/worklist?sort=patient").get_data(as_text=True)
    assert len(names_in_order(first)) == 50 and "page 1 of 2" in first
    second = client.get("/worklist?sort=patient&dir=asc&page=2").get_data(as_text=True)
    assert names_in_order(second) == ["Patient 50"]


def test_a_patient_whose_treatment_started_leaves_the_worklist(app, client, nurse):
    patient = patient_at("Ana Ruiz", "+16175550101")
    workup = db.session.scalar(db.select(Workup).filter_by(patient_id=patient.id))
    for study in workup.studies:
        study.status, study.done_on, study.result_on = "not_needed", None, None
    treatment = next(s for s in workup.studies if s.kind == "treatment")
    treatment.status, treatment.done_on = "done", date(2026, 11, 1)
    refresh(workup)
    db.session.commit()
    assert workup.step == "complete"
    assert names_in_order(client.get("/worklist").get_data(as_text=True)) == []


def test_an_overdue_limit_comes_from_the_environment_and_a_bad_one_is_refused(tmp_path):
    from navigator import config

    assert config.load({"OVERDUE_RESULTS_DAYS": "14"}, str(tmp_path))["OVERDUE_RESULTS_DAYS"] == 14
    with pytest.raises(config.ConfigError, match="OVERDUE_RESULTS_DAYS"):
        config.load({"OVERDUE_RESULTS_DAYS": "two weeks"}, str(tmp_path))


def test_a_closed_workup_leaves_the_worklist_and_can_be_reopened(app, client, nurse):
    from coordinator_support import post_form

    patient = patient_at("Ana Ruiz", "+16175550101")
    page = f"/patients/{patient.id}/workup"
    post_form(client, f"{page}/close", {"reason": "Recurrence ruled out"}, page=page)
    assert names_in_order(client.get("/worklist").get_data(as_text=True)) == []
    assert "closed on" in client.get(page).get_data(as_text=True)
    post_form(client, f"{page}/reopen", {}, page=page)
    assert names_in_order(client.get("/worklist").get_data(as_text=True)) == ["Ana Ruiz"]
