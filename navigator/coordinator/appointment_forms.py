"""The cancel form: an optional reason for the record, and whether to tell the patient."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import Length

REASON_MAX = 200


class CancelForm(FlaskForm):
    reason = StringField(
        "Reason (optional, kept on the timeline; never sent to the patient)",
        validators=[Length(max=REASON_MAX, message=f"Keep the reason to {REASON_MAX} characters.")],
    )
    tell = BooleanField("Text the patient that it is cancelled", default=True)
