"""The forms of texting and calling a patient from the app (patient_contact.py)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from ..core.phones import InvalidPhone, to_e164

#: The longest text a coordinator may type: ten segments, as Twilio recommends at most.
TEXT_MAX = 1600


class TextForm(FlaskForm):
    template = SelectField(
        "Saved text, in the patient's language", choices=[], validate_choice=True
    )
    body = TextAreaField(
        "Or type a text",
        description="Keep it short: plain words, no test results, no names of medicines.",
        validators=[Length(max=TEXT_MAX, message=f"Keep the text under {TEXT_MAX} characters.")],
    )

    def validate_body(self, field):
        if not self.template.data and not (field.data or "").strip():
            raise ValidationError("Type a text, or choose a saved one.")


class CallForm(FlaskForm):
    my_phone = StringField(
        "Your phone (it rings first; then the patient is called)",
        validators=[DataRequired("Enter the phone you will answer.")],
    )

    def validate_my_phone(self, field):
        try:
            to_e164(field.data)
        except InvalidPhone as exc:
            raise ValidationError(str(exc)[0].upper() + str(exc)[1:] + ".") from None
