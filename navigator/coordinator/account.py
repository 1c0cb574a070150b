"""A coordinator's own account (time zone, password), and what admins do to accounts:
switch them off and on, and set a temporary password for someone who forgot theirs.

Changing a password, having one set, or deactivating an account ends that coordinator's
other sessions (see ``sessions``), so a nurse who leaves, or whose password was seen, is
signed out everywhere at once. A temporary password works once: the coordinator must
choose their own before any other page opens. Passwords are never logged or audited.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.security import check_password_hash, generate_password_hash

from ..accounts import end_sessions_everywhere
from ..audit.records import record
from ..extensions import db
from ..models import Coordinator
from . import sessions
from .blueprint import bp
from .forms import ConfirmForm, PasswordChangeForm, TemporaryPasswordForm, TimezoneForm


def _page(zone_form: TimezoneForm, password_form: PasswordChangeForm, status: int = 200):
    return render_template(
        "coordinator/account.html",
        zone_form=zone_form,
        password_form=password_form,
        temporary=sessions.must_change(),
    ), status


@bp.get("/account")
def account():
    """Your account: the zone times are shown in, and your password."""
    return _page(TimezoneForm(timezone=current_user.timezone), PasswordChangeForm())


@bp.post("/account/time-zone")
def change_timezone():
    form = TimezoneForm()
    if not form.validate_on_submit():
        return _page(form, PasswordChangeForm(formdata=None), 422)
    current_user.timezone = form.timezone.data
    record("change_timezone", "coordinator", current_user.id, form.timezone.data)
    db.session.commit()
    flash(f"Times are now shown in {form.timezone.data}.", "success")
    return redirect(url_for("coordinator.account"))


@bp.post("/account/password")
def change_password():
    """A new password, proved by the current one; this session stays, all others end."""
    form = PasswordChangeForm()
    zone_form = TimezoneForm(timezone=current_user.timezone, formdata=None)
    if not form.validate_on_submit():
        return _page(zone_form, form, 422)
    if not check_password_hash(current_user.password_hash, form.current.data):
        form.current.errors.append("This is not your current password.")
        return _page(zone_form, form, 422)
    if form.password.data == form.current.data:
        form.password.errors.append("Choose a password different from the current one.")
        return _page(zone_form, form, 422)
    current_user.password_hash = generate_password_hash(form.password.data)
    current_user.must_change_password = False
    record("change_password", "coordinator", current_user.id)
    end_sessions_everywhere(current_user)
    db.session.commit()
    sessions.password_changed(current_user._get_current_object())
    flash("Your password is changed. Other browsers signed in as you are signed out.", "success")
    return redirect(url_for("coordinator.account"))


def _admin_changing(coordinator_id: int) -> Coordinator:
    """The account an admin is switching on or off (never their own).

    :raise 403: not an admin, or their own account.
    """
    if not current_user.is_admin or coordinator_id == current_user.id:
        abort(403)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return db.get_or_404(Coordinator, coordinator_id)


@bp.post("/coordinators/<int:coordinator_id>/deactivate")
def deactivate(coordinator_id: int):
    """Switch an account off: it cannot sign in, and its open sessions end now."""
    coordinator = _admin_changing(coordinator_id)
    coordinator.active = False
    record("deactivate", "coordinator", coordinator.id)
    db.session.commit()
    flash(f"{coordinator.email} can no longer sign in.", "success")
    return redirect(url_for("coordinator.coordinators"))


@bp.post("/coordinators/<int:coordinator_id>/reactivate")
def reactivate(coordinator_id: int):
    coordinator = _admin_changing(coordinator_id)
    coordinator.active = True
    coordinator.failed_logins = 0
    coordinator.locked_until = None
    record("reactivate", "coordinator", coordinator.id)
    db.session.commit()
    flash(f"{coordinator.email} can sign in again.", "success")
    return redirect(url_for("coordinator.coordinators"))


@bp.route("/coordinators/<int:coordinator_id>/password", methods=["GET", "POST"])
def temporary_password(coordinator_id: int):
    """An admin sets a temporary password for another coordinator.

    Their sessions end and any sign-in lock is lifted; at their next sign-in they must
    choose their own password. The audit row says who did it, never the password.

    :raise 403: not an admin, or their own account (they use *Your account*).
    """
    if not current_user.is_admin or coordinator_id == current_user.id:
        abort(403)
    coordinator = db.get_or_404(Coordinator, coordinator_id)
    form = TemporaryPasswordForm()
    form.owner_email = coordinator.email  # the password may not contain it
    if form.validate_on_submit():
        coordinator.password_hash = generate_password_hash(form.password.data)
        coordinator.failed_logins = 0
        coordinator.locked_until = None
        coordinator.must_change_password = True
        end_sessions_everywhere(coordinator)
        record(
            "set_temporary_password",
            "coordinator",
            coordinator.id,
            "they must choose their own at next sign-in; their sessions ended",
        )
        db.session.commit()
        flash(
            f"Temporary password set for {coordinator.email}. Tell it to them in person or "
            "by phone. They must choose their own when they next sign in.",
            "success",
        )
        return redirect(url_for("coordinator.coordinators"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "coordinator/temporary_password.html", form=form, coordinator=coordinator
    ), status
