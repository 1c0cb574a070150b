"""Sessions, temporary passwords and finding patients, in real headless Chromium with axe-core."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from coordinator_support import make_coordinator
from playwright.sync_api import expect

from browser.browser_support import assert_accessible, sign_in
from navigator.extensions import db
from navigator.models import Patient, utcnow

pytestmark = pytest.mark.browser


@pytest.fixture
def admin(app):
    return make_coordinator(admin=True)


def test_an_admin_sets_a_temporary_password_and_the_nurse_must_replace_it(app, page, admin):
    make_coordinator("forgetful@clinic.test", name="Fran Forgetful")
    sign_in(page)
    page.goto("/coordinators")
    page.get_by_role("link", name="Set a temporary password for forgetful@clinic.test").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Set a temporary password for forgetful@clinic.test"
    )
    assert_accessible(page)
    page.get_by_label("Temporary password", exact=True).fill("short")
    page.get_by_role("button", name="Set temporary password").click()
    expect(page.get_by_role("alert")).to_contain_text("Use at least 12 characters.")
    assert_accessible(page)
    page.get_by_label("Temporary password", exact=True).fill("temporary password 4821")
    page.get_by_label("Temporary password again").fill("temporary password 4821")
    page.get_by_role("button", name="Set temporary password").click()
    expect(page.get_by_text("Temporary password set for forgetful@clinic.test.")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, "forgetful@clinic.test", "temporary password 4821")
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.get_by_text("An admin gave you a temporary password.")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Patients", exact=True).click()
    expect(page).to_have_url(re.compile(r"/account$"))  # nothing else opens yet
    page.get_by_label("Current password").fill("temporary password 4821")
    page.get_by_label("New password", exact=True).fill("my very own long password")
    page.get_by_label("New password again").fill("my very own long password")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password is changed.")).to_be_visible()
    page.get_by_role("link", name="Patients", exact=True).click()
    expect(page.get_by_role("heading", name="Patients", level=1)).to_be_visible()


def test_after_the_idle_time_signing_in_again_returns_to_the_same_page(app, page, admin):
    sign_in(page)
    page.goto("/audit")
    app.config["SESSION_IDLE_MINUTES"] = 0  # as if the nurse had walked away
    page.reload()
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    expect(page.get_by_role("status")).to_contain_text("signed out after 0 minutes")
    assert_accessible(page)
    app.config["SESSION_IDLE_MINUTES"] = 30
    page.get_by_label("Email").fill("nurse@clinic.test")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/audit$"))


def test_a_form_from_an_ended_session_explains_how_to_send_it_again(app, page, admin):
    sign_in(page)
    page.goto("/patients/new")
    other = page.context.new_page()  # another tab signs out and back in
    other.goto("/inbox")
    other.get_by_role("button", name="Sign out").click()
    sign_in(other)
    page.get_by_label("Full name").fill("Ana Ruiz")
    page.get_by_role("button", name="Enroll and send confirmation").click()
    expect(page.get_by_role("heading", name="This form has expired")).to_be_visible()
    expect(page.get_by_text("Nothing was saved.")).to_be_visible()
    assert_accessible(page)


def test_the_patient_list_pages_through_many_patients_and_searches(app, page, admin):
    start = utcnow() - timedelta(days=1)
    for n in range(60):
        db.session.add(
            Patient(
                name=f"Patient {n:03d}",
                phone=f"+1202555{n:04d}",
                created_at=start + timedelta(minutes=n),
            )
        )
    db.session.commit()
    sign_in(page)
    page.goto("/patients")
    expect(page.get_by_text("Showing 1–50 of 60 patients.")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("navigation", name="Pages of patients").get_by_role(
        "link", name="Next page"
    ).click()
    expect(page.get_by_text("Showing 51–60 of 60 patients.")).to_be_visible()
    expect(page.get_by_role("link", name="Patient 000")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Find by name or number").fill("patient 0")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("Showing 1–50 of 60 patients matching your search.")).to_be_visible()
    page.get_by_role("link", name="Next page").click()
    expect(page.get_by_text("Showing 51–60 of 60 patients matching your search.")).to_be_visible()
    assert "patient" not in page.url.lower().split("/patients", 1)[1]  # no words in the URL
    assert_accessible(page)
    page.go_back()  # Back shows the first page of results again, no form to resend
    expect(page.get_by_text("Showing 1–50 of 60 patients matching your search.")).to_be_visible()
