"""Helpers for the coordinator app's tests: accounts, signing in, CSRF tokens from pages."""

from __future__ import annotations

import re

from navigator.accounts import create_coordinator
from navigator.extensions import db

PASSWORD = "correct horse battery staple"
#: A consent to texts as a coordinator records it: every disclosure ticked.
CONSENT = {
    "consent_obtained_by": "Nora Nurse",
    "consent_date": "2026-11-20",
    "consent_time": "10:15",
    "consent_method": "in person",
    "told_program": "y",
    "told_purpose": "y",
    "told_frequency": "y",
    "told_rates": "y",
    "told_help": "y",
    "told_stop": "y",
}
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def make_coordinator(
    email="nurse@clinic.test",
    password=PASSWORD,
    *,
    admin=False,
    timezone="America/New_York",
    name="Nora Nurse",
):
    coordinator = create_coordinator(email, password, name=name, is_admin=admin, timezone=timezone)
    db.session.commit()
    return coordinator


def csrf_token(client, path: str) -> str:
    """The CSRF token on the page at ``path`` (every form on a page shares it)."""
    html = client.get(path).get_data(as_text=True)
    match = TOKEN.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client, email="nurse@clinic.test", password=PASSWORD):
    token = csrf_token(client, "/sign-in")
    return client.post("/sign-in", data={"email": email, "password": password, "csrf_token": token})


def post_form(client, path: str, data: dict, *, page: str | None = None, **kwargs):
    """POST ``data`` to ``path`` with the CSRF token from ``page`` (``path`` by default)."""
    token = csrf_token(client, page or path)
    return client.post(path, data={**data, "csrf_token": token}, **kwargs)


def signed_in_nurse(app, client):
    """Nora Nurse, signed in on ``client``; a module makes it a fixture with
    ``nurse = pytest.fixture(signed_in_nurse, name="nurse")``."""
    coordinator = make_coordinator()
    sign_in(client)
    return coordinator
