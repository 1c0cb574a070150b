"""Signing in and out, the failed sign-in limit, and admins adding coordinators.

After ``COORDINATOR_MAX_FAILED_SIGN_INS`` wrong passwords in a row an account is locked
for ``COORDINATOR_LOCKOUT_MINUTES``; while locked, even the right password is refused.
The message for a wrong password never says whether the email exists.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import Coordinator, utcnow
from . import bp
from .audit import record
from .forms import ConfirmForm, CoordinatorForm, SignInForm

log = logging.getLogger(__name__)

# Checked when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a real password")

WRONG = "The email or password is not right."


def create_coordinator(
    email: str,
    password: str,
    *,
    name: str | None = None,
    is_admin: bool = False,
    timezone: str = "America/New_York",
) -> Coordinator:
    """Add a coordinator to the session; the caller commits.

    :raise ValueError: the email is already in use.
    """
    email = email.strip().lower()
    if db.session.scalar(db.select(Coordinator).filter_by(email=email)):
        raise ValueError("A coordinator with this email already exists.")
    coordinator = Coordinator(
        email=email,
        name=name,
        is_admin=is_admin,
        timezone=timezone,
        password_hash=generate_password_hash(password),
    )
    db.session.add(coordinator)
    return coordinator


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("coordinator.inbox")


@bp.get("/")
def home():
    """The coordinator's start page: the inbox (sign-in when signed out)."""
    return redirect(url_for("coordinator.inbox"))


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """Sign in with email and password; lock the account after repeated failures."""
    if current_user.is_authenticated:
        return redirect(url_for("coordinator.inbox"))
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        error = _check_credentials(form.email.data, form.password.data)
        if error is None:
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        error = "Check the fields below."
    status = 200 if request.method == "GET" or error is None else 422
    return render_template("coordinator/sign_in.html", form=form, error=error), status


def _check_credentials(email: str, password: str) -> str | None:
    """Sign in and return None, or return what to tell the person."""
    now = utcnow()
    limit = current_app.config["COORDINATOR_MAX_FAILED_SIGN_INS"]
    minutes = current_app.config["COORDINATOR_LOCKOUT_MINUTES"]
    coordinator = db.session.scalar(db.select(Coordinator).filter_by(email=email.strip().lower()))
    if coordinator is None:
        check_password_hash(_DUMMY_HASH, password)
        return WRONG
    if coordinator.locked_until and coordinator.locked_until > now:
        left = max(1, int((coordinator.locked_until - now).total_seconds() // 60) + 1)
        return (
            f"This account is locked after too many failed sign-ins. "
            f"Try again in {left} minute{'s' if left != 1 else ''}, or ask an admin."
        )
    if not coordinator.active:
        check_password_hash(_DUMMY_HASH, password)
        return WRONG
    if not check_password_hash(coordinator.password_hash, password):
        coordinator.failed_logins = (coordinator.failed_logins or 0) + 1
        if coordinator.failed_logins >= limit:
            coordinator.locked_until = now + timedelta(minutes=minutes)
            coordinator.failed_logins = 0
            record(
                "lock",
                "coordinator",
                coordinator.id,
                f"locked for {minutes} minutes after {limit} failed sign-ins",
                coordinator_id=coordinator.id,
            )
            db.session.commit()
            log.warning("coordinator %s locked after %s failed sign-ins", coordinator.id, limit)
            return f"Too many failed sign-ins. This account is locked for {minutes} minutes."
        record("sign_in_failed", "coordinator", coordinator.id, coordinator_id=coordinator.id)
        db.session.commit()
        return WRONG
    coordinator.failed_logins = 0
    coordinator.locked_until = None
    record("sign_in", "coordinator", coordinator.id, coordinator_id=coordinator.id)
    db.session.commit()
    login_user(coordinator)
    return None


@bp.post("/sign-out")
def sign_out():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    record("sign_out", "coordinator", current_user.id)
    db.session.commit()
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("coordinator.sign_in"))


@bp.route("/coordinators", methods=["GET", "POST"])
@login_required
def coordinators():
    """Everyone who can sign in; admins add coordinators here."""
    form = CoordinatorForm() if current_user.is_admin else None
    status = 200
    if form is not None and form.validate_on_submit():
        try:
            added = create_coordinator(
                form.email.data,
                form.password.data,
                name=form.name.data,
                is_admin=form.is_admin.data,
                timezone=form.timezone.data,
            )
        except ValueError as exc:
            form.email.errors.append(str(exc))
            status = 422
        else:
            db.session.flush()
            record("create", "coordinator", added.id, "admin" if added.is_admin else "")
            db.session.commit()
            flash(f"Added {added.email}. They can sign in now.", "success")
            return redirect(url_for("coordinator.coordinators"))
    elif request.method == "POST":
        if form is None:
            abort(403)
        status = 422
    everyone = db.session.scalars(db.select(Coordinator).order_by(Coordinator.email)).all()
    return render_template(
        "coordinator/coordinators.html", form=form, everyone=everyone, now=utcnow()
    ), status


@bp.post("/coordinators/<int:coordinator_id>/unlock")
def unlock(coordinator_id: int):
    """An admin lifts a sign-in lock before its minutes are up.

    :raise 403: the signed-in coordinator is not an admin.
    """
    if not current_user.is_admin:
        abort(403)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    locked = db.get_or_404(Coordinator, coordinator_id)
    locked.locked_until = None
    locked.failed_logins = 0
    record("unlock", "coordinator", locked.id)
    db.session.commit()
    flash(f"Unlocked {locked.email}.", "success")
    return redirect(url_for("coordinator.coordinators"))
