"""The coordinator app's forms (Flask-WTF: each carries a CSRF token).

Fields are validated on the server with messages a nurse can act on. Dates and times
are plain text fields with browser date/time pickers, checked here, so that a rejected
form gives back exactly what was typed.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, ValidationError

from ..core.phones import InvalidPhone, to_e164
from ..models import APPOINTMENT_KINDS, KIND_LABELS
from ..patients.appointments import LOCATION_MAX, PREP_MAX
from ..patients.consent import CONSENT_METHODS, DISCLOSURES
from ..patients.enrolment import EnrollmentError, check_mrn, check_timezone
from .identity_fields import IdentityFields
from .password_strength import StrongPassword

#: Zones offered in pickers; any IANA zone typed by hand is also accepted server side.
TIMEZONES = [
    ("America/New_York", "Eastern (New York)"),
    ("America/Chicago", "Central (Chicago)"),
    ("America/Denver", "Mountain (Denver)"),
    ("America/Phoenix", "Arizona (Phoenix)"),
    ("America/Los_Angeles", "Pacific (Los Angeles)"),
    ("America/Anchorage", "Alaska (Anchorage)"),
    ("Pacific/Honolulu", "Hawaii (Honolulu)"),
    ("America/Puerto_Rico", "Atlantic (Puerto Rico)"),
    ("UTC", "UTC"),
]
LANGUAGE_CHOICES = [("en", "English"), ("es", "Spanish (español)")]


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def parse_date(text: str) -> date:
    """:raise ValidationError: not a date written 2026-12-01."""
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise ValidationError("Enter a date like 2026-12-01.") from None


def parse_time(text: str) -> time:
    """:raise ValidationError: not a 24-hour time written 14:30."""
    value = (text or "").strip()[:5]
    if not HHMM.fullmatch(value):
        raise ValidationError("Enter a time like 09:30 or 14:30 (24-hour clock).")
    return time.fromisoformat(value)


def _is_date(form, field):
    if field.data:
        parse_date(field.data)


def _is_time(form, field):
    if field.data:
        parse_time(field.data)


def _is_zone(form, field):
    try:
        check_timezone((field.data or "").strip())
    except EnrollmentError:
        raise ValidationError(
            "Choose a time zone from the list (or a name such as America/Chicago)."
        ) from None


def _is_mobile(form, field):
    if not field.data:
        return
    try:
        to_e164(field.data)
    except InvalidPhone:
        raise ValidationError(
            "This is not a valid phone number. Enter a 10-digit US number such as "
            "(617) 555-0143, or an international number starting with +."
        ) from None


class SignInForm(FlaskForm):
    email = EmailField(
        "Email", validators=[DataRequired("Enter your email address."), Length(max=254)]
    )
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])


class CoordinatorForm(FlaskForm):
    """An admin adds a coordinator."""

    email = EmailField(
        "Email",
        validators=[
            DataRequired("Enter an email address."),
            Regexp(
                r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                message="Enter an email address like name@clinic.org.",
            ),
            Length(max=254),
        ],
    )
    name = StringField(
        "Name", validators=[DataRequired("Enter the coordinator's name."), Length(max=120)]
    )
    timezone = SelectField(
        "Time zone",
        choices=options(TIMEZONES),
        default="America/New_York",
        validators=[_is_zone],
        validate_choice=False,
    )
    password = PasswordField(
        "Password",
        validators=[
            DataRequired("Choose a password."),
            StrongPassword(),
        ],
    )
    confirm = PasswordField(
        "Password again",
        validators=[
            DataRequired("Type the password again."),
            EqualTo("password", message="The two passwords are not the same."),
        ],
    )
    is_admin = BooleanField("Can add coordinators (admin)")


class TimezoneForm(FlaskForm):
    """A coordinator chooses the zone their pages show times in."""

    timezone = SelectField(
        "Show times in",
        choices=options(TIMEZONES),
        validators=[_is_zone],
        validate_choice=False,
    )


class PasswordChangeForm(FlaskForm):
    """A coordinator changes their own password; the current one proves it is them."""

    current = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password.")]
    )
    password = PasswordField(
        "New password",
        validators=[
            DataRequired("Choose a new password."),
            StrongPassword(),
        ],
    )
    confirm = PasswordField(
        "New password again",
        validators=[
            DataRequired("Type the new password again."),
            EqualTo("password", message="The two passwords are not the same."),
        ],
    )


def _mrn_is_free(form, field) -> None:
    """The MRN (with its authority) is not another patient's."""
    try:
        check_mrn(field.data, form.mrn_authority.data, form.patient_phone())
    except EnrollmentError as exc:
        raise ValidationError(str(exc)[0].upper() + str(exc)[1:] + ".") from None


class PatientForm(FlaskForm):
    """What a coordinator records about a patient and may change later (not the number)."""

    name = StringField(
        "Full name", validators=[DataRequired("Enter the patient's name."), Length(max=120)]
    )
    phone = StringField(
        "Mobile number",
        validators=[DataRequired("Enter the patient's mobile number."), _is_mobile],
        render_kw={"autocomplete": "off", "inputmode": "tel"},
    )
    language = RadioField(
        "Preferred language",
        choices=options(LANGUAGE_CHOICES),
        default="en",
        validators=[DataRequired("Choose a language.")],
    )
    channel = RadioField(
        "Reminders by",
        choices=options([("sms", "Text message"), ("voice", "Phone call")]),
        default="sms",
        validators=[DataRequired("Choose text or voice.")],
    )
    mrn = StringField(
        "Medical record number (MRN)",
        validators=[Optional(), Length(max=40), _mrn_is_free],
        render_kw={"autocomplete": "off"},
    )
    mrn_authority = StringField(
        "MRN issued by (assigning authority)",
        validators=[Optional(), Length(max=60)],
        render_kw={"autocomplete": "off"},
    )
    timezone = SelectField(
        "Patient's time zone",
        choices=options(TIMEZONES),
        default="America/New_York",
        validators=[_is_zone],
        validate_choice=False,
    )
    quiet_start = StringField(
        "Quiet hours start",
        default="21:00",
        validators=[DataRequired("Enter when quiet hours start."), _is_time],
        render_kw={"type": "time"},
    )
    quiet_end = StringField(
        "Quiet hours end",
        default="08:00",
        validators=[DataRequired("Enter when quiet hours end."), _is_time],
        render_kw={"type": "time"},
    )
    detailed_texts = RadioField(
        "Detailed texts",
        choices=options(
            [
                ("no", "No: texts say only that there is a visit and ask to call"),
                ("yes", "Yes: texts may name the test, place and preparation"),
            ]
        ),
        default="no",
        validators=[DataRequired("Choose whether texts may carry details.")],
    )
    detailed_told_not_secure = BooleanField(
        "The patient was told that texts are not secure and others may read them"
    )
    detailed_how = StringField(
        "How the patient chose detailed texts",
        validators=[Optional(), Length(max=200)],
        description="For example: said so in person at the clinic.",
    )
    caregiver_phone = StringField(
        "Caregiver's mobile number (optional)",
        validators=[Optional(), _is_mobile],
        render_kw={"autocomplete": "off", "inputmode": "tel"},
    )
    caregiver_name = StringField(
        "Caregiver's name (optional)", validators=[Optional(), Length(max=120)]
    )
    caregiver_timezone = SelectField(
        "Caregiver's time zone",
        choices=options([("", "Same as the patient")] + TIMEZONES),
        default="",
        validators=[Optional(), _is_zone],
        validate_choice=False,
        description="Their copies never arrive during the night where they live.",
    )
    caregiver_scope = RadioField(
        "What the caregiver may receive",
        choices=options(
            [
                ("reminders", "Copies of appointment reminders"),
                ("none", "Nothing: keep the number on record only"),
            ]
        ),
        default="reminders",
    )

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.detailed_texts.data == "yes":
            if not self.detailed_told_not_secure.data:
                self.detailed_told_not_secure.errors.append(
                    "Detailed texts need the patient to be told texts are not secure."
                )
                ok = False
            if not (self.detailed_how.data or "").strip():
                self.detailed_how.errors = [
                    *self.detailed_how.errors,
                    "Say how the patient chose detailed texts.",
                ]
                ok = False
        if self.caregiver_phone.data and self.caregiver_scope.data not in ("reminders", "none"):
            self.caregiver_scope.errors = ["Choose what the caregiver may receive."]
            ok = False
        own = self.patient_phone()
        if (
            self.caregiver_phone.data
            and own
            and not self.caregiver_phone.errors
            and to_e164(self.caregiver_phone.data) == own
        ):
            self.caregiver_phone.errors = ["The caregiver's number must differ from the patient's."]
            ok = False
        return ok

    def patient_phone(self) -> str | None:
        """The patient's own number in E.164, when known and valid."""
        if self.phone is None or not self.phone.data or self.phone.errors:
            return None
        return to_e164(self.phone.data)


class PatientEditForm(PatientForm, IdentityFields):
    """Changing an enrolled patient's preferences. The number is the patient's identity
    (opt-out state and conversations hang on it), so it is not edited here."""

    phone = None

    def __init__(self, *args, own_phone: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.own_phone = own_phone

    def patient_phone(self) -> str | None:
        return self.own_phone


class ConsentFields(FlaskForm):
    """Consent to texts at a number: who obtained it, when, how, and what the patient was
    told. Asked at enrolment and again when a patient's number changes, because consent
    to texts belongs to a number."""

    consent_obtained_by = StringField(
        "Consent obtained by",
        validators=[DataRequired("Enter who obtained consent."), Length(max=200)],
    )
    consent_date = StringField(
        "Date consent was given",
        validators=[DataRequired("Enter the date consent was given."), _is_date],
        render_kw={"type": "date"},
    )
    consent_time = StringField(
        "Time consent was given",
        validators=[DataRequired("Enter the time consent was given."), _is_time],
        render_kw={"type": "time"},
    )
    consent_method = SelectField(
        "How consent was given",
        choices=options(CONSENT_METHODS),
        validators=[DataRequired("Choose how consent was given.")],
    )
    told_program = BooleanField(DISCLOSURES[0][1])
    told_purpose = BooleanField(DISCLOSURES[1][1])
    told_frequency = BooleanField(DISCLOSURES[2][1])
    told_rates = BooleanField(DISCLOSURES[3][1])
    told_help = BooleanField(DISCLOSURES[4][1])
    told_stop = BooleanField(DISCLOSURES[5][1])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for name, _ in DISCLOSURES:
            if not getattr(self, name).data:
                getattr(self, name).errors.append(
                    "Tell the patient this and tick the box before saving."
                )
                ok = False
        # No zone on earth is more than a day ahead of UTC's date.
        latest = datetime.now(UTC).date() + timedelta(days=1)
        if (
            self.consent_date.data
            and not self.consent_date.errors
            and parse_date(self.consent_date.data) > latest
        ):
            self.consent_date.errors = ["Consent cannot be dated in the future."]
            ok = False
        return ok

    def disclosures_text(self) -> str:
        return "\n".join(line for name, line in DISCLOSURES if getattr(self, name).data)


class EnrollForm(PatientForm, IdentityFields, ConsentFields):
    """Everything about a new patient, with their consent to texts, and when a recurrence
    was first suspected if that is known (day 0 of the worklist and the measures)."""

    suspected_on = StringField(
        "Date a recurrence was first suspected (optional)",
        validators=[Optional(), _is_date],
        render_kw={"type": "date"},
        description="The scan, symptom or test that raised it. You can add it later.",
    )


class PhoneChangeForm(ConsentFields):
    """A patient's corrected or new mobile number, with consent to texts at it."""

    phone = StringField(
        "New mobile number",
        validators=[DataRequired("Enter the patient's new mobile number."), _is_mobile],
        render_kw={"autocomplete": "off", "inputmode": "tel"},
    )


class AppointmentForm(FlaskForm):
    kind = SelectField(
        "Kind",
        choices=options((k, KIND_LABELS[k]) for k in APPOINTMENT_KINDS),
        validators=[DataRequired("Choose the kind of appointment.")],
    )
    day = StringField(
        "Date", validators=[DataRequired("Enter the date."), _is_date], render_kw={"type": "date"}
    )
    at = StringField(
        "Time at the site",
        validators=[DataRequired("Enter the time."), _is_time],
        render_kw={"type": "time"},
    )
    timezone = SelectField(
        "Site's time zone (where the appointment is)",
        choices=options(TIMEZONES),
        default="America/New_York",
        validators=[_is_zone],
        validate_choice=False,
        description="The zone of the clinic or imaging site, not the patient's. "
        "The date and time above are in this zone.",
    )
    location = StringField(
        "Location",
        validators=[
            DataRequired("Enter where it is."),
            Length(
                max=LOCATION_MAX,
                message=f"Keep the location to {LOCATION_MAX} characters or fewer, so a reminder"
                " fits in one text. Put directions in the preparation notes.",
            ),
        ],
        description="Site, building and floor, e.g. Main campus, Radiology, 2nd floor.",
    )
    prep_notes = TextAreaField(
        "Preparation notes (optional)",
        validators=[
            Optional(),
            Length(
                max=PREP_MAX,
                message=f"Keep the preparation notes to {PREP_MAX} characters or fewer, so they"
                " fit in one text. Give longer instructions on paper or by phone.",
            ),
        ],
        description="The site's instructions, e.g. nothing to eat 6 hours before.",
    )
    repeated = SelectField(
        "This time happens twice that day (the clocks go back). Which one?",
        choices=options(
            [
                ("", "Choose one"),
                ("first", "The first time (before the clocks go back)"),
                ("second", "The second time (after the clocks go back)"),
            ]
        ),
        validators=[Optional()],
    )

    def starts_at_local(self) -> datetime:
        return datetime.combine(parse_date(self.day.data), parse_time(self.at.data))


class SearchForm(FlaskForm):
    q = StringField("Find by name or number", validators=[Optional(), Length(max=120)])


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token travels."""


class TryTextForm(FlaskForm):
    body = StringField(
        "Text message",
        validators=[
            DataRequired("Type a message to send."),
            Length(max=1600, message="Keep a text to 1600 characters or fewer."),
        ],
    )


class TryCallForm(FlaskForm):
    speech = StringField("Say (what the caller speaks)", validators=[Optional(), Length(max=300)])


class TryAsForm(FlaskForm):
    caller = SelectField(
        "Call or text as", validators=[DataRequired("Choose who you are.")], validate_choice=False
    )
    language = RadioField(
        "Language for an unknown caller", choices=options(LANGUAGE_CHOICES), default="en"
    )


class TemporaryPasswordForm(FlaskForm):
    """An admin sets a password another coordinator must replace at their next sign-in."""

    password = PasswordField(
        "Temporary password",
        validators=[
            DataRequired("Choose a temporary password."),
            StrongPassword(),
        ],
    )
    confirm = PasswordField(
        "Temporary password again",
        validators=[
            DataRequired("Type the temporary password again."),
            EqualTo("password", message="The two passwords are not the same."),
        ],
    )
