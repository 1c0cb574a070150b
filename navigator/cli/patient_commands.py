"""Command-line tools for demos and scripting: ``flask --app wsgi patients enroll ...``.

Enrolling here is enrolling as in the coordinator app (enrolment.py): consent is required
(who obtained it and how, with ``--consent-by`` and ``--consent-method``), it is recorded
with the opt-in, and the patient gets the same opt-in confirmation, text or call.
"""

from __future__ import annotations

from datetime import date, datetime

import click
from flask.cli import AppGroup

from .. import timefmt
from ..audit.records import FROM_COMMAND_LINE, record
from ..extensions import db
from ..models import utcnow
from ..patients.consent import (
    CONSENT_METHODS,
    DISCLOSURES,
    ConsentGiven,
    enrol,
    everything_told,
    send_opt_in,
)
from ..patients.enrolment import EnrollmentError, NewPatient

patients_cli = AppGroup("patients", help="Enroll and list patients.")
CONSENT_BY_MAX = 200  # consents.obtained_by


@patients_cli.command("enroll")
@click.option("--name", required=True, help="The patient's name.")
@click.option("--phone", required=True, help="Mobile number, e.g. +16175550143.")
@click.option("--language", default="en", show_default=True, help="en or es.")
@click.option(
    "--timezone", "zone", default="America/New_York", show_default=True, help="IANA zone."
)
@click.option("--channel", default="sms", show_default=True, help="sms or voice.")
@click.option("--dob", default=None, help="Date of birth YYYY-MM-DD, for phone identity checks.")
@click.option("--pin", default=None, help="4-8 digit PIN, for phone identity checks.")
@click.option("--mrn", default=None, help="Medical record number, for the scheduling feed.")
@click.option(
    "--mrn-authority",
    default=None,
    help="Who issued the MRN (PID-3.4); HL7_MRN_AUTHORITY if unset.",
)
@click.option(
    "--consent-by",
    "consent_by",
    default=None,
    help="Required: who obtained the patient's consent to texts and calls.",
)
@click.option(
    "--consent-method",
    "consent_method",
    default=None,
    type=click.Choice([value for value, _ in CONSENT_METHODS]),
    help="Required: how consent was given. Giving it confirms the patient was told: "
    + "; ".join(line for _, line in DISCLOSURES)
    + ".",
)
@click.option(
    "--consent-at",
    "consent_at",
    default=None,
    help="When consent was given, UTC, e.g. 2026-12-05T14:30 (default: now).",
)
def enroll_command(
    name,
    phone,
    language,
    zone,
    channel,
    dob,
    pin,
    mrn,
    mrn_authority,
    consent_by,
    consent_method,
    consent_at,
):
    """Enroll a patient by phone number, with their consent; send the opt-in confirmation."""
    consent = _consent(consent_by, consent_method, consent_at)
    try:
        birth = date.fromisoformat(dob) if dob else None
    except ValueError:
        raise click.UsageError(f"--dob {dob!r} is not a date like 1960-04-30") from None
    try:
        patient = enrol(
            NewPatient(
                name,
                phone,
                language,
                zone,
                channel,
                date_of_birth=birth,
                pin=pin,
                mrn=mrn,
                mrn_authority=mrn_authority,
            ),
            consent,
            now=utcnow(),
        )
        db.session.flush()
        record("enroll", "patient", patient.id, FROM_COMMAND_LINE)
        db.session.commit()
    except EnrollmentError as exc:
        db.session.rollback()
        raise click.UsageError(f"--{exc.field}: {exc}") from None
    click.echo(f"Enrolled patient #{patient.id} ({patient.phone}).")
    click.echo(OPT_IN_SAID[send_opt_in(patient).outcome])


#: What the command says about the opt-in confirmation (enrolment.OptInSent.outcome).
OPT_IN_SAID = {
    "sent": "The opt-in confirmation was sent.",
    "failed": "The opt-in confirmation could not be sent; it is in the inbox.",
    "opted_out": "This number texted STOP, so no confirmation was sent.",
}


def _consent(by: str | None, method: str | None, at: str | None) -> ConsentGiven:
    """The consent given on the command line.

    :raise click.UsageError: who obtained it or how is missing (nothing is written), or
        the time is not a date and time.
    """
    given = {"--consent-by": by, "--consent-method": method}
    missing = [option for option, value in given.items() if not (value or "").strip()]
    if missing:
        raise click.UsageError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} required: a "
            "patient is enrolled only with their recorded consent (who obtained it, and how)."
        )
    if len(by.strip()) > CONSENT_BY_MAX:
        raise click.UsageError(f"--consent-by: at most {CONSENT_BY_MAX} characters")
    try:
        when = datetime.fromisoformat(at) if at else utcnow()
    except ValueError:
        raise click.UsageError(f"--consent-at {at!r} is not a time like 2026-12-05T14:30") from None
    if when.tzinfo is not None:
        when = timefmt.to_utc(when)
    return ConsentGiven(by, method, when, everything_told())


def init_app(app) -> None:
    app.cli.add_command(patients_cli)
