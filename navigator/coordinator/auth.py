"""Signing in and out, and admins adding coordinators.

Sign-in is limited (``sign_in_limit``): after ``COORDINATOR_MAX_FAILED_SIGN_INS`` wrong
passwords in a row an email is locked for ``COORDINATOR_LOCKOUT_MINUTES``; while locked,
even the right password is refused. Every refusal reads the same whether or not the email
belongs to anyone, so the sign-in page never tells who has an account.

Signing out ends the session on the server too (``sessions``): a copy of the cookie taken
before it opens nothing afterwards.
"""

from __future__ import annotations

import string
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.security import check_password_hash, generate_password_hash

from ..accounts import create_coordinator, end_sessions_everywhere
from ..audit.records import record
from ..extensions import db
from ..models import Coordinator, utcnow
from . import sessions, sign_in_limit
from .blueprint import bp
from .forms import ConfirmForm, CoordinatorForm, SignInForm

# Checked when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a real password")

WRONG = "The email or password is not right."
LOCKED = (
    "Too many failed sign-ins: sign-in is locked for {minutes} minutes. "
    "Try again then, or ask an admin to unlock it."
)


def _safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site, else the inbox.

    Browsers drop tabs and newlines inside URLs and read a backslash as a slash, so
    ``/%09/evil.example`` (a tab) would leave the site: any control character, space or
    backslash refuses the target, as does anything urlsplit reads as having a scheme or a
    host.
    """
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and not any(ch in target for ch in "\\" + string.whitespace)
        and all(ch.isprintable() for ch in target)
    ):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
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
            if sessions.must_change():
                return redirect(url_for("coordinator.account"))
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        error = "Check the fields below."
    status = 200 if request.method == "GET" or error is None else 422
    return render_template("coordinator/sign_in.html", form=form, error=error), status


def _check_credentials(email: str, password: str) -> str | None:
    """Sign in and return None, or return what to tell the person.

    An unknown email and a switched-off account are treated alike, and the same as a
    wrong password: same words, same limit, same time spent hashing.
    """
    now = utcnow()
    locked = LOCKED.format(minutes=current_app.config["COORDINATOR_LOCKOUT_MINUTES"])
    attempt = sign_in_limit.Attempt(email)
    coordinator = db.session.scalar(db.select(Coordinator).filter_by(email=email.strip().lower()))
    if coordinator is not None and not coordinator.active:
        coordinator = None
    if not sign_in_limit.claim(attempt, coordinator, now):
        check_password_hash(_DUMMY_HASH, password)
        return locked
    known_hash = coordinator.password_hash if coordinator is not None else _DUMMY_HASH
    if not check_password_hash(known_hash, password) or coordinator is None:
        now_locked = sign_in_limit.failed(attempt, coordinator, now)
        db.session.commit()
        return locked if now_locked else WRONG
    sign_in_limit.succeeded(attempt, coordinator)
    record("sign_in", "coordinator", coordinator.id, coordinator_id=coordinator.id)
    db.session.commit()
    sessions.start(coordinator)
    if sessions.must_change():
        flash("You signed in with a temporary password. Choose your own to go on.", "warning")
    return None


@bp.post("/sign-out")
def sign_out():
    """Sign out here, and end every other session of this account on the server."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    record("sign_out", "coordinator", current_user.id)
    end_sessions_everywhere(current_user)
    db.session.commit()
    sessions.end()
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
