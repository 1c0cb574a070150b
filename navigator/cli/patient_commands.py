"""Command-line tools for demos and scripting: ``flask --app wsgi patients enroll ...``."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup

from ..audit.records import FROM_COMMAND_LINE, record
from ..extensions import db
from ..patients.enrolment import EnrollmentError, NewPatient, enroll

patients_cli = AppGroup("patients", help="Enroll and list patients.")


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
def enroll_command(name, phone, language, zone, channel, dob, pin, mrn, mrn_authority):
    """Enroll a patient by phone number."""
    try:
        birth = date.fromisoformat(dob) if dob else None
    except ValueError:
        raise click.UsageError(f"--dob {dob!r} is not a date like 1960-04-30") from None
    try:
        patient = enroll(
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
            )
        )
        db.session.flush()
        record("enroll", "patient", patient.id, FROM_COMMAND_LINE)
        db.session.commit()
    except EnrollmentError as exc:
        db.session.rollback()
        raise click.UsageError(f"--{exc.field}: {exc}") from None
    click.echo(f"Enrolled patient #{patient.id} ({patient.phone}).")


def init_app(app) -> None:
    app.cli.add_command(patients_cli)
