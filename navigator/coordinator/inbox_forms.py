"""The inbox's forms: closing an item with an outcome, and giving it an owner."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length

from .forms import options
from .inbox_items import OUTCOMES

NOTE_MAX = 500


class CloseForm(FlaskForm):
    outcome = RadioField(
        "Outcome",
        choices=options(OUTCOMES.items()),
        validators=[InputRequired("Choose what was done (the outcome).")],
    )
    note = TextAreaField(
        "Note (optional)",
        validators=[Length(max=NOTE_MAX, message=f"Keep the note under {NOTE_MAX} characters.")],
    )


class AssignForm(FlaskForm):
    """``owner``: a coordinator's id, or empty for the one signed in (claiming)."""

    owner = SelectField("Give to", choices=[], validate_choice=False)
