"""Fixtures for outbound tests: a fake Twilio REST API over real HTTP, and PostgreSQL-only marks.

Registered from ``conftest.py`` with ``pytest_plugins``. The fake runs once per session on an
ephemeral port and is emptied before each test that asks for it.
"""

from __future__ import annotations

import os

import pytest
from fake_twilio import FakeTwilio

ACCOUNT_SID = "AC" + "0" * 31 + "1"


def on_postgres() -> bool:
    return os.environ.get("TEST_DATABASE_URL", "").startswith("postgres")


def pytest_collection_modifyitems(config, items):
    if on_postgres():
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL row locking (set TEST_DATABASE_URL)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def fake_twilio_server():
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_twilio(app, fake_twilio_server):
    """The fake Twilio API, with ``app`` sending through the real SDK to it."""
    fake_twilio_server.reset()
    fake_twilio_server.latency = 0.0
    app.config.update(
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_API_URL=fake_twilio_server.url,
        PUBLIC_BASE_URL="https://navigator.example.org",
        SEND_RATE_PER_SECOND=0,
    )
    yield fake_twilio_server
    fake_twilio_server.reset()


@pytest.fixture
def new_patient(app):
    """Makes an enrolled patient (committed) with a contact row; keyword arguments override."""
    from navigator.extensions import db
    from navigator.models import Caregiver, Contact, Patient

    made = []

    def make(phone=None, caregivers=(), **fields):
        # 555-2143 and up, not 555-01xx: texts to those fictional numbers never reach Twilio.
        phone = phone or f"+1617555{len(made) + 2143:04d}"
        values = {
            "name": "Ana Lopez",
            "language": "en",
            "timezone": "America/New_York",
            "channel": "sms",
            "quiet_start": "21:00",
            "quiet_end": "08:00",
            **fields,
        }
        patient = Patient(phone=phone, **values)
        db.session.add(patient)
        db.session.add(Contact(phone=phone, language=values["language"], language_chosen=True))
        db.session.flush()
        for caregiver_phone, scope, *zone in caregivers:  # (phone, scope[, timezone])
            db.session.add(
                Caregiver(
                    patient_id=patient.id,
                    phone=caregiver_phone,
                    scope=scope,
                    timezone=zone[0] if zone else None,
                    consent_how="in clinic, signed form",
                )
            )
        db.session.commit()
        made.append(patient)
        return patient

    return make
