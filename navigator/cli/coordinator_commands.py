"""``flask --app wsgi coordinators create EMAIL [--admin]`` and ``coordinators set-password
EMAIL``: accounts from the command line (the second for IT, when nobody can sign in).

The password comes from a hidden prompt (asked twice), or from standard input with
``--password-stdin`` for scripts; never from an argument, which would land in shell
history and process lists.
"""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from werkzeug.security import generate_password_hash

from ..accounts import create_coordinator, end_sessions_everywhere, password_problem
from ..audit.records import FROM_COMMAND_LINE, record
from ..extensions import db
from ..models import Coordinator
from ..patients.enrolment import EnrollmentError, check_timezone

coordinators_cli = AppGroup("coordinators", help="Create coordinator accounts, reset passwords.")


@coordinators_cli.command("create")
@click.argument("email")
@click.option("--name", default=None, help="The coordinator's name.")
@click.option("--admin", is_flag=True, help="May add coordinators in the app.")
@click.option(
    "--timezone",
    "zone",
    default="America/New_York",
    show_default=True,
    help="IANA zone in which times are shown to them.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_command(email, name, admin, zone, password_stdin):
    """Create a coordinator who signs in with EMAIL."""
    if "@" not in email:
        raise click.UsageError(f"{email!r} is not an email address")
    try:
        check_timezone(zone)
    except EnrollmentError as exc:
        raise click.UsageError(f"--timezone: {exc}") from None
    password = _read_password(password_stdin, email)
    try:
        coordinator = create_coordinator(email, password, name=name, is_admin=admin, timezone=zone)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    db.session.flush()
    record(
        "create",
        "coordinator",
        coordinator.id,
        FROM_COMMAND_LINE + ("; admin" if admin else ""),
        coordinator_id=None,
    )
    db.session.commit()
    click.echo(
        f"Created coordinator #{coordinator.id} ({coordinator.email})"
        + (" with admin rights." if admin else ".")
    )


def _read_password(from_stdin: bool, email: str) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    message = password_problem(password, email)
    if message:
        raise click.UsageError(f"the password is refused: {message}")
    return password


@coordinators_cli.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def set_password_command(email, password_stdin):
    """Give the coordinator EMAIL a new password, lift any lock, end their sessions."""
    coordinator = db.session.scalar(db.select(Coordinator).filter_by(email=email.strip().lower()))
    if coordinator is None:
        raise click.UsageError(f"no coordinator signs in with {email!r}")
    coordinator.password_hash = generate_password_hash(
        _read_password(password_stdin, coordinator.email)
    )
    coordinator.failed_logins = 0
    coordinator.locked_until = None
    coordinator.must_change_password = False
    end_sessions_everywhere(coordinator)
    record("set_password", "coordinator", coordinator.id, FROM_COMMAND_LINE, coordinator_id=None)
    db.session.commit()
    click.echo(f"New password set for coordinator #{coordinator.id}; their sessions are ended.")


def init_app(app) -> None:
    app.cli.add_command(coordinators_cli)
