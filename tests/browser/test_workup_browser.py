"""The workup, the worklist and the measures in real headless Chromium, with axe-core."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from coordinator_support import make_coordinator
from playwright.sync_api import expect

from browser.browser_support import assert_accessible, seed_patient, sign_in
from navigator.extensions import db
from navigator.patients.workup_path import refresh
from navigator.patients.workups import Study, Workup

pytestmark = pytest.mark.browser


@pytest.fixture
def nurse(app):
    return make_coordinator(admin=True)


def test_the_workup_page_warns_when_a_biopsy_is_dated_after_the_planning_visit(app, page, nurse):
    patient = seed_patient()
    sign_in(page)
    page.goto(f"/patients/{patient.id}/workup")
    assert_accessible(page)
    for study, day in (("Biopsy", "2026-12-20"), ("Treatment-planning visit", "2026-12-10")):
        page.get_by_role("link", name=f"Update {study}").click()
        page.get_by_label("Status").select_option("scheduled")
        page.get_by_label("Date scheduled for").fill(day)
        assert_accessible(page)
        page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Check these dates")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("^Biopsy"))).to_contain_text("Scheduled")
    assert_accessible(page)


def test_results_notes_and_barriers_on_the_patient_page_are_accessible(app, page, nurse):
    patient = seed_patient()
    sign_in(page)
    page.goto(f"/patients/{patient.id}/results")
    assert_accessible(page)
    page.get_by_label("ER", exact=True).first.select_option("positive")
    page.get_by_label("ER", exact=True).nth(1).select_option("negative")
    page.get_by_role("button", name="Save results").click()
    expect(page.get_by_text("ER changed: positive before, negative now.")).to_be_visible()
    page.get_by_label("Barrier", exact=True).select_option("transport")
    page.get_by_role("button", name="Record barrier").click()
    page.get_by_label("Note for the care team").fill("Prefers calls after 5 pm.")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Prefers calls after 5 pm.")).to_be_visible()
    assert_accessible(page)


def test_the_worklist_sorts_by_its_header_links_and_is_accessible(app, page, nurse):
    today = date.today()
    for i, (name, days) in enumerate((("Ana Ruiz", 2), ("Bea Cole", 9))):
        patient = seed_patient(name, f"+1617555014{i}")
        workup = db.session.scalar(db.select(Workup).filter_by(patient_id=patient.id))
        for study in db.session.scalars(db.select(Study).filter_by(workup_id=workup.id)):
            if study.kind == "ct":
                study.status, study.done_on = "done", today - timedelta(days=days)
            elif study.kind in ("bone-scan", "pet-ct", "mri"):
                study.status = "not_needed"
        refresh(workup)
    db.session.commit()
    sign_in(page)
    page.get_by_role("link", name="Worklist").click()
    table = page.get_by_role("table")
    expect(table.get_by_role("row").nth(1)).to_contain_text("Bea Cole")  # overdue first
    expect(table.get_by_role("row").nth(1)).to_contain_text("Overdue")
    assert_accessible(page)
    page.get_by_role("link", name="Patient", exact=True).click()
    expect(page.get_by_role("columnheader", name=re.compile("^Patient"))).to_have_attribute(
        "aria-sort", "ascending"
    )
    expect(table.get_by_role("row").nth(1)).to_contain_text("Ana Ruiz")
    page.get_by_label("Overdue only").check()
    page.get_by_role("button", name="Show").click()
    expect(table.get_by_role("row")).to_have_count(2)
    assert_accessible(page)


def test_the_measures_charts_have_text_alternatives_and_tables(app, page, nurse):
    patient = seed_patient()
    workup = db.session.scalar(db.select(Workup).filter_by(patient_id=patient.id))
    workup.suspected_on, workup.biopsy_on = date(2026, 11, 2), date(2026, 11, 12)
    db.session.commit()
    sign_in(page)
    page.get_by_role("link", name="Measures").click()
    chart = page.get_by_role("img", name=re.compile("Suspected recurrence to biopsy, by month"))
    expect(chart).to_be_visible()
    expect(
        page.get_by_role("table", name=re.compile("to biopsy in days, by month"))
    ).to_contain_text("10")
    assert_accessible(page)
