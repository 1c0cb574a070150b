"""What the browser tests share: axe-core checks, signing in, seeding a patient."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

from navigator.extensions import db
from navigator.patients.enrolment import NewPatient, enroll

_AXE = Axe()


def assert_accessible(page) -> None:
    """Run axe-core on the page as it is now; fail with the report on any violation."""
    results = _AXE.run(page)
    assert results.violations_count == 0, (page.url, results.generate_report())


def assert_fits(page) -> None:
    """Nothing on the page is wider than the window (no sideways scrolling)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the window"


def sign_in(page, email="nurse@clinic.test", password="correct horse battery staple") -> None:
    page.goto("/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def seed_patient(name="Ana Ruiz", phone="+16175550143", language="en"):
    patient = enroll(NewPatient(name, phone, language, "America/Chicago", "sms"))
    db.session.commit()
    return patient
