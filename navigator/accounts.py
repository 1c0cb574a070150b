"""Coordinator accounts: the rules the web app and the command-line tools share.

Creating an account, how strong its password must be and ending its sessions everywhere
are the same whether a nurse uses the admin page or an IT person runs ``flask
coordinators``, so they live below both: the command line never loads the web app's
blueprint to reach them.

Passwords are judged by zxcvbn, a maintained strength estimator: length alone let
``password1234`` through. zxcvbn estimates how many guesses a password takes
(dictionaries, keyboard patterns, dates, l33t substitutions, repeats) and the navigator
asks for a score of at least 3 of 4 ("safely unguessable" against an offline attack on a
slow hash). The password may not contain the account's email, or the part before the @,
and the account's own words (email, name, program) count as known words.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from werkzeug.security import generate_password_hash
from zxcvbn import zxcvbn

from .extensions import db
from .models import Coordinator, utcnow

MIN_LENGTH = 12
MIN_SCORE = 3
#: zxcvbn's cost grows with length; nobody types a 200-character password.
LONGEST_CHECKED = 100


def create_coordinator(
    email: str,
    password: str,
    *,
    name: str | None = None,
    is_admin: bool = False,
    timezone: str = "America/New_York",
) -> Coordinator:
    """Add a coordinator to the session; the caller commits.

    :raise ValueError: the email is already in use.
    """
    email = email.strip().lower()
    if db.session.scalar(db.select(Coordinator).filter_by(email=email)):
        raise ValueError("A coordinator with this email already exists.")
    coordinator = Coordinator(
        email=email,
        name=name,
        is_admin=is_admin,
        timezone=timezone,
        password_hash=generate_password_hash(password),
    )
    db.session.add(coordinator)
    return coordinator


def password_problem(password: str, email: str = "", name: str = "") -> str | None:
    """What is wrong with ``password`` for the account ``email``, in plain words, or None."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    lowered, email = password.lower(), (email or "").strip().lower()
    local = email.split("@")[0]
    if email and (email in lowered or (len(local) >= 3 and local in lowered)):
        return "Do not use your email address in the password."
    known = [word for word in (email, local, name, _program()) if word]
    result = zxcvbn(password[:LONGEST_CHECKED], user_inputs=known)
    if result["score"] >= MIN_SCORE:
        return None
    advice = result["feedback"].get("warning") or "It is too easy to guess."
    return f"{advice} Try a few unrelated words together."


def end_sessions_everywhere(coordinator: Coordinator, now: datetime | None = None) -> None:
    """Every session of ``coordinator`` begun before now is over; the caller commits."""
    coordinator.sessions_valid_after = now or utcnow()


def _program() -> str:
    try:
        return current_app.config["PROGRAM_NAME"]
    except RuntimeError:
        return ""
