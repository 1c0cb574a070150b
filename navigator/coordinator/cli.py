"""``flask --app wsgi coordinators create EMAIL [--admin]``: accounts from the command line.

The password comes from a hidden prompt (asked twice), or from standard input with
``--password-stdin`` for scripts; never from an argument, which would land in shell
history and process lists.
"""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from ..extensions import db
from ..patients import EnrollmentError, check_timezone
from .audit import record

coordinators_cli = AppGroup("coordinators", help="Create coordinator accounts.")

MIN_PASSWORD = 12


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
    from .auth import create_coordinator

    if "@" not in email:
        raise click.UsageError(f"{email!r} is not an email address")
    try:
        check_timezone(zone)
    except EnrollmentError as exc:
        raise click.UsageError(f"--timezone: {exc}") from None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        raise click.UsageError(f"the password must be at least {MIN_PASSWORD} characters")
    try:
        coordinator = create_coordinator(email, password, name=name, is_admin=admin, timezone=zone)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    db.session.flush()
    record(
        "create",
        "coordinator",
        coordinator.id,
        "from the command line" + ("; admin" if admin else ""),
        coordinator_id=None,
    )
    db.session.commit()
    click.echo(
        f"Created coordinator #{coordinator.id} ({coordinator.email})"
        + (" with admin rights." if admin else ".")
    )


def init_app(app) -> None:
    app.cli.add_command(coordinators_cli)
