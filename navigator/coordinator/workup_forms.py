"""Forms for the workup: its details, one study, receptor results, notes and barriers.

Kept apart from ``forms.py`` (enrolment, appointments, accounts) because they change for
different reasons. A status needs its date: the measures are built from recorded dates
only, so "done" without the day it was done is refused with a message that says so.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..patients.workups import (
    BARRIER_KINDS,
    BARRIER_LABELS,
    HER2_VALUES,
    NOTE_MAX,
    RECEPTOR_VALUES,
    STATUS_DATE,
    STATUS_LABELS,
    STUDY_KINDS,
    STUDY_LABELS,
    STUDY_STATUSES,
)
from .forms import _is_date, options, parse_date

DATE_LABELS = {
    "ordered_on": "Date ordered",
    "scheduled_on": "Date scheduled for",
    "done_on": "Date done",
    "result_on": "Date result received",
    "reviewed_on": "Date reviewed with the patient",
}
RECEPTOR_LABELS = dict(zip(RECEPTOR_VALUES, ("Positive", "Low (1-10%)", "Negative"), strict=True))
HER2_LABELS = {"0": "0", "ultralow": "Ultralow", "low": "Low", "positive": "Positive"}
UNKNOWN = [("", "Not known")]


def _date_field(name: str) -> StringField:
    return StringField(
        DATE_LABELS[name], validators=[Optional(), _is_date], render_kw={"type": "date"}
    )


class WorkupDetailsForm(FlaskForm):
    suspected_on = StringField(
        "Date a recurrence was first suspected",
        validators=[Optional(), _is_date],
        render_kw={"type": "date"},
        description="Day 0 of every measure: the scan, symptom or test that raised it.",
    )
    owner_id = SelectField("Coordinator in charge", choices=[], validate_choice=False)


class StudyForm(FlaskForm):
    status = SelectField("Status", choices=options((s, STATUS_LABELS[s]) for s in STUDY_STATUSES))
    ordered_on = _date_field("ordered_on")
    scheduled_on = _date_field("scheduled_on")
    done_on = _date_field("done_on")
    result_on = _date_field("result_on")
    reviewed_on = _date_field("reviewed_on")
    appointment_id = SelectField("Appointment", choices=[], validate_choice=False)
    detail = StringField(
        "Detail (optional)",
        validators=[Optional(), Length(max=200)],
        description="For the care team only, e.g. left hip, liquid biopsy.",
    )

    def validate(self, extra_validators=None) -> bool:
        """Every status from ordered on needs its own date (a linked appointment gives the
        scheduled date), so that measures rest on recorded dates."""
        if not super().validate(extra_validators):
            return False
        wanted = STATUS_DATE.get(self.status.data)
        if wanted == "scheduled_on" and self.appointment_id.data:
            return True
        if wanted and not getattr(self, wanted).data:
            getattr(self, wanted).errors.append(
                f"Enter the {DATE_LABELS[wanted].lower()[5:]} date: "
                f"it is needed for '{STATUS_LABELS[self.status.data]}'."
            )
            return False
        return True

    def dates(self) -> dict:
        return {
            name: parse_date(getattr(self, name).data) if getattr(self, name).data else None
            for name in DATE_LABELS
        }


class AddStudyForm(FlaskForm):
    kind = SelectField("Add a study", choices=options((k, STUDY_LABELS[k]) for k in STUDY_KINDS))


class ResultsForm(FlaskForm):
    """ER, PR and HER2 of the first cancer and of the recurrence."""

    before_er = SelectField("ER", choices=options(UNKNOWN + list(RECEPTOR_LABELS.items())))
    before_pr = SelectField("PR", choices=options(UNKNOWN + list(RECEPTOR_LABELS.items())))
    before_her2 = SelectField(
        "HER2", choices=options(UNKNOWN + [(v, HER2_LABELS[v]) for v in HER2_VALUES])
    )
    before_tested_on = StringField(
        "Date of the report", validators=[Optional(), _is_date], render_kw={"type": "date"}
    )
    now_er = SelectField("ER", choices=options(UNKNOWN + list(RECEPTOR_LABELS.items())))
    now_pr = SelectField("PR", choices=options(UNKNOWN + list(RECEPTOR_LABELS.items())))
    now_her2 = SelectField(
        "HER2", choices=options(UNKNOWN + [(v, HER2_LABELS[v]) for v in HER2_VALUES])
    )
    now_tested_on = StringField(
        "Date of the report", validators=[Optional(), _is_date], render_kw={"type": "date"}
    )
    biopsy_site = StringField(
        "Biopsy site",
        validators=[Optional(), Length(max=120)],
        description="Where the sample came from, e.g. liver, bone (left hip), lymph node.",
    )
    tissue_obtained = RadioField(
        "Was tissue obtained?",
        choices=options([("", "Not known"), ("yes", "Yes"), ("no", "No")]),
        default="",
        validate_choice=False,
    )


class NoteForm(FlaskForm):
    body = TextAreaField(
        "Note for the care team",
        validators=[
            DataRequired("Write the note first."),
            Length(max=NOTE_MAX, message=f"Keep a note to {NOTE_MAX} characters or fewer."),
        ],
        description="Seen by coordinators only. It is never sent to the patient.",
    )


class BarrierForm(FlaskForm):
    kind = SelectField("Barrier", choices=options((k, BARRIER_LABELS[k]) for k in BARRIER_KINDS))
    detail = StringField(
        "Detail (optional)",
        validators=[Optional(), Length(max=200)],
        description="For the care team only, e.g. needs a ride to the 14 Dec biopsy.",
    )


CLOSE_REASONS = (
    "Recurrence ruled out",
    "Care moved elsewhere",
    "Patient chose to stop the workup",
    "Patient died",
    "Other",
)


class CloseWorkupForm(FlaskForm):
    """Ending a workup before treatment starts takes it off the worklist (not the measures)."""

    reason = SelectField("Why the workup ends", choices=options((r, r) for r in CLOSE_REASONS))
