"""Command-line tools for appointments, reminders and the local outbox.

``flask --app wsgi appointments add|move|cancel|list``, ``reminders send-due`` (one worker
tick) and ``outbox`` (what the embedded mode would have sent). Errors are said plainly and
exit non-zero. Times on the command line are the site's local wall time.
"""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from ..audit.records import FROM_COMMAND_LINE, record_appointment
from ..core.phones import InvalidPhone, to_e164
from ..extensions import db
from ..models import Appointment, Message, Patient, utcnow
from ..patients import appointments
from ..patients.enrolment import patient_for
from ..reminders import worker

appointments_cli = AppGroup("appointments", help="Add, move, cancel and list appointments.")
reminders_cli = AppGroup("reminders", help="Send due reminders.")


def _when(text: str) -> datetime:
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        raise click.UsageError(f"--at {text!r} is not a time like 2026-03-10 09:30") from None


def _patient(phone: str) -> Patient:
    try:
        number = to_e164(phone)
    except InvalidPhone:
        raise click.UsageError(f"--phone {phone!r} is not a valid phone number") from None
    patient = patient_for(number)
    if patient is None:
        raise click.UsageError(f"no patient is enrolled with the number {number}")
    return patient


def _appointment(appointment_id: int) -> Appointment:
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        raise click.UsageError(f"there is no appointment {appointment_id}")
    return appointment


def _describe(appointment: Appointment) -> str:
    local = appointments.local_start(appointment)
    pending = sum(1 for r in appointment.reminders if r.status == "pending")
    return (
        f"#{appointment.id} {appointment.kind} {local:%Y-%m-%d %H:%M} {appointment.timezone}"
        f" at {appointment.location} [{appointment.status}], {pending} reminders pending"
    )


def _fail(exc: appointments.AppointmentError):
    db.session.rollback()
    raise click.UsageError(f"--{exc.field}: {exc}")


@appointments_cli.command("add")
@click.option("--phone", required=True, help="The patient's enrolled number.")
@click.option("--kind", required=True, help="ct, pet-ct, bone-scan, mri, biopsy or visit.")
@click.option("--at", "at", required=True, help='Site-local start, "YYYY-MM-DD HH:MM".')
@click.option(
    "--timezone", "zone", required=True, help="The site's IANA zone, e.g. America/Chicago."
)
@click.option("--location", required=True, help="Where, as the patient should read it.")
@click.option("--prep", default=None, help="The site's own preparation notes.")
@click.option(
    "--repeated",
    type=click.Choice(appointments.REPEATED_CHOICES),
    default=None,
    help="For a time that happens twice (the clocks go back): the first or the second.",
)
def add_command(phone, kind, at, zone, location, prep, repeated):
    """Add an appointment and plan its reminders."""
    patient = _patient(phone)
    try:
        appointment = appointments.schedule(
            patient, kind, _when(at), zone, location, prep, now=utcnow(), repeated=repeated
        )
        db.session.flush()
        record_appointment("create_appointment", appointment, FROM_COMMAND_LINE)
        db.session.commit()
    except appointments.AppointmentError as exc:
        _fail(exc)
    click.echo(f"Added {_describe(appointment)}.")


@appointments_cli.command("move")
@click.argument("appointment_id", type=int)
@click.option("--at", "at", required=True, help='New site-local start, "YYYY-MM-DD HH:MM".')
@click.option("--timezone", "zone", default=None, help="A new IANA zone, if the site changed.")
@click.option(
    "--repeated",
    type=click.Choice(appointments.REPEATED_CHOICES),
    default=None,
    help="For a time that happens twice (the clocks go back): the first or the second.",
)
def move_command(appointment_id, at, zone, repeated):
    """Move an appointment; its unsent reminders are planned again."""
    appointment = _appointment(appointment_id)
    try:
        appointments.move(appointment, _when(at), zone, now=utcnow(), repeated=repeated)
        record_appointment("update_appointment", appointment, "moved " + FROM_COMMAND_LINE)
        db.session.commit()
    except appointments.AppointmentError as exc:
        _fail(exc)
    click.echo(f"Moved {_describe(appointment)}.")


@appointments_cli.command("cancel")
@click.argument("appointment_id", type=int)
def cancel_command(appointment_id):
    """Cancel an appointment and its unsent reminders."""
    appointment = _appointment(appointment_id)
    if appointment.status == "cancelled":
        click.echo(f"Appointment #{appointment.id} was already cancelled; nothing changed.")
        return
    appointments.cancel(appointment, now=utcnow())
    record_appointment("cancel_appointment", appointment, FROM_COMMAND_LINE)
    db.session.commit()
    click.echo(f"Cancelled {_describe(appointment)}.")


@appointments_cli.command("list")
@click.option("--phone", default=None, help="Only this patient's appointments.")
def list_command(phone):
    """List appointments, soonest first."""
    query = db.select(Appointment).order_by(Appointment.starts_at)
    if phone:
        query = query.where(Appointment.patient_id == _patient(phone).id)
    for appointment in db.session.scalars(query):
        click.echo(_describe(appointment))


@reminders_cli.command("send-due")
def send_due_command():
    """Run one worker tick: send every reminder that is due now."""
    counts = worker.send_due(utcnow(), worker.default_worker_id())
    summary = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
    click.echo(f"Reminder tick: {summary or 'nothing due'}.")


def _mask(phone: str) -> str:
    return "*" * max(0, len(phone) - 4) + phone[-4:]


@click.command("outbox")
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
def outbox_command(limit):
    """List texts and calls kept in the local outbox (embedded mode, no Twilio account)."""
    rows = db.session.scalars(
        db.select(Message)
        .where(Message.transport == "outbox")
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    )
    count = 0
    for message in rows:
        count += 1
        body = message.body if message.channel == "sms" else "(reminder call)"
        click.echo(f"{message.created_at:%Y-%m-%d %H:%M} UTC  {_mask(message.phone)}  {body}")
    if not count:
        click.echo("The outbox is empty.")


def init_app(app) -> None:
    app.cli.add_command(appointments_cli)
    app.cli.add_command(reminders_cli)
    app.cli.add_command(outbox_command)
