"""The password-strength rule as a WTForms validator (the rule itself: ``accounts``)."""

from __future__ import annotations

from flask_login import current_user
from wtforms.validators import ValidationError

from ..accounts import password_problem


class StrongPassword:
    """A WTForms validator: the field's password passes ``password_problem`` for the form's account.

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
        message = password_problem(field.data or "", email or "", name)
        if message:
            raise ValidationError(message)
