"""The scheduling feed's pages in real headless Chromium, with axe-core on each."""

from __future__ import annotations

import re

import pytest
from coordinator_support import make_coordinator
from feed_support import enroll_patient, seed_site, siu

from browser.browser_support import assert_accessible, assert_fits, sign_in
from navigator.extensions import db
from navigator.feed import intake as feed_intake
from navigator.models import Appointment

pytestmark = pytest.mark.browser


@pytest.fixture
def admin(app):
    return make_coordinator(admin=True)


def test_an_unmatched_appointment_is_fixed_and_applied_from_the_feed_page(app, page, admin):
    seed_site()
    feed_intake.receive(siu("S12", "MSG0001"))
    sign_in(page)

    page.get_by_role("link", name="Scheduling feed", exact=True).click()
    assert page.get_by_role("strong").filter(has_text="No enrolled patient").is_visible()
    assert_accessible(page)
    enroll_patient()
    page.get_by_role("button", name=re.compile("^Apply again")).click()

    assert page.get_by_text("Applied: booked.").is_visible()
    assert db.session.scalars(db.select(Appointment)).all()
    # The message's number and language are not the patient's: proposed, with "Seen".
    differ = page.get_by_role("heading", name=re.compile("^Applied, but the hospital"))
    assert differ.is_visible()
    assert_accessible(page)
    page.set_viewport_size({"width": 375, "height": 740})
    assert_fits(page)
    page.get_by_role("button", name=re.compile("^Seen")).click()
    assert page.get_by_text("Marked as seen").is_visible()
    assert not differ.is_visible()


def test_the_code_tables_and_the_import_pages_are_accessible_and_fit(app, page, admin):
    seed_site()
    sign_in(page)

    page.goto("/feed/mappings")
    page.get_by_label("Service code (AIS-3 or SCH-8)").fill("BONE")
    page.get_by_label("Kind", exact=True).select_option("bone-scan")
    page.get_by_role("button", name="Save service code").click()
    assert page.get_by_role("cell", name="BONE", exact=True).is_visible()
    assert_accessible(page)
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto("/feed/mappings")
    assert_fits(page)
    page.goto("/feed/import")
    assert_accessible(page)
    assert_fits(page)
