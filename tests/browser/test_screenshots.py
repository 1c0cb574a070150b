"""Screenshots of the main pages for the README, written to docs/ when asked.

Run ``NAVIGATOR_SCREENSHOTS=1 .venv/bin/pytest tests/browser/test_screenshots.py`` to
refresh docs/coordinator-*.png; otherwise this is skipped, so test runs never touch docs/.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from browser.browser_support import seed_patient, sign_in
from navigator.accounts import create_coordinator
from navigator.extensions import db
from navigator.models import Alert, Appointment, Message, utcnow
from navigator.patients.appointments import schedule
from navigator.patients.workups import Study

DOCS = Path(__file__).resolve().parents[2] / "docs"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.environ.get("NAVIGATOR_SCREENSHOTS"),
        reason="set NAVIGATOR_SCREENSHOTS=1 to rewrite docs/*.png",
    ),
]


def _demo_data():
    create_coordinator(
        "nurse@clinic.test", "correct horse battery staple", name="Nora Nurse", is_admin=True
    )
    ana = seed_patient("Ana Ruiz", "+16175552143", "es")
    beth = seed_patient("Beth Jones", "+16175552188", "en")
    now = utcnow()
    local = (now + timedelta(days=6)).replace(hour=9, minute=30, second=0, microsecond=0)
    schedule(
        ana,
        "pet-ct",
        local,
        "America/Chicago",
        "Main campus, Radiology, 2nd floor",
        "Nothing to eat for 6 hours before.",
        now=now,
    )
    schedule(ana, "visit", local - timedelta(days=3), "America/Chicago", "Oncology clinic", now=now)
    biopsy = db.session.scalar(db.select(Study).filter_by(kind="biopsy"))
    biopsy.status, biopsy.scheduled_on = "scheduled", (local + timedelta(days=8)).date()
    db.session.add_all(
        [
            Message(
                direction="out",
                phone=ana.phone,
                patient_id=ana.id,
                transport="outbox",
                status="queued",
                body="Care Navigator: Se inscribió para recibir recordatorios.",
                created_at=now - timedelta(hours=5),
            ),
            Message(
                direction="in",
                phone=ana.phone,
                patient_id=ana.id,
                status="received",
                body="tengo fiebre",
                created_at=now - timedelta(hours=2),
            ),
            Alert(
                kind="red_flag",
                phone=ana.phone,
                patient_id=ana.id,
                detail="fever",
                created_at=now - timedelta(hours=2),
            ),
            Alert(
                kind="callback",
                phone=beth.phone,
                patient_id=beth.id,
                detail="asked for a nurse to call",
                created_at=now - timedelta(hours=1),
            ),
            Alert(
                kind="reschedule",
                phone=beth.phone,
                patient_id=beth.id,
                detail="cannot make Thursday",
                created_at=now - timedelta(minutes=30),
            ),
            Alert(
                kind="delivery_failed",
                phone="+16175552199",
                detail="carrier error 30008",
                created_at=now - timedelta(minutes=10),
            ),
        ]
    )
    db.session.commit()
    return ana


def _shoot(page, name, full_page=True):
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / f"coordinator-{name}.png"), full_page=full_page)


def test_write_screenshots_of_the_main_pages(app, page, phone_page):
    ana = _demo_data()
    sign_in(page)
    _shoot(page, "inbox")
    page.goto(f"/patients/{ana.id}")
    _shoot(page, "patient")
    page.goto("/patients/new")
    page.get_by_label("Full name").fill("Carla Mendes")
    page.get_by_label("Mobile number", exact=True).fill("555-12")
    page.get_by_role("button", name="Enroll and send confirmation").click()
    _shoot(page, "enroll-errors", full_page=False)
    appointment = db.session.scalar(db.select(Appointment).filter_by(kind="pet-ct"))
    page.goto(f"/appointments/{appointment.id}/edit")
    page.get_by_role("button", name="Preview reminders").click()
    _shoot(page, "appointment-preview")
    page.goto("/try")
    page.get_by_label("Text message").fill("MENU")
    page.get_by_role("button", name="Send text").click()
    page.get_by_role("button", name="Call the navigator").click()
    _shoot(page, "try-it")
    sign_in(phone_page)
    phone_page.goto("/try")
    phone_page.get_by_role("button", name="Call the navigator").click()
    phone_page.wait_for_load_state("networkidle")
    phone_page.goto("/try")  # without the #panel jump, so the shot starts at the top
    phone_page.wait_for_load_state("networkidle")
    _shoot(phone_page, "try-it-phone", full_page=True)
