"""How strong a coordinator's password must be: zxcvbn, a maintained strength estimator.

Length alone let ``password1234`` through. zxcvbn estimates how many guesses a password
takes (dictionaries, keyboard patterns, dates, l33t substitutions, repeats) and the
navigator asks for a score of at least 3 of 4 ("safely unguessable" against an offline
attack on a slow hash). The password may not contain the account's email, or the part
before the @, and the account's own words (email, name, program) count as known words.
"""

from __future__ import annotations

from flask import current_app
from flask_login import current_user
from wtforms.validators import ValidationError
from zxcvbn import zxcvbn

MIN_LENGTH = 12
MIN_SCORE = 3
#: zxcvbn's cost grows with length; nobody types a 200-character password.
LONGEST_CHECKED = 100


def problem(password: str, email: str = "", name: str = "") -> str | None:
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


def _program() -> str:
    try:
        return current_app.config.get("PROGRAM_NAME", "")
    except RuntimeError:
        return ""


class StrongPassword:
    """A WTForms validator: the field's password passes ``problem`` for the form's account.

    The account is the form's ``email`` field (a new coordinator), else the form's
    ``owner_email`` (set by the view for a temporary password), else the signed-in user.
    """

    def __call__(self, form, field) -> None:
        email = getattr(getattr(form, "email", None), "data", None) or getattr(
            form, "owner_email", None
        )
        name = getattr(getattr(form, "name", None), "data", None) or ""
        if email is None and current_user and current_user.is_authenticated:
            email, name = current_user.email, current_user.name or ""
        message = problem(field.data or "", email or "", name)
        if message:
            raise ValidationError(message)
