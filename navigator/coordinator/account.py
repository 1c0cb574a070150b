"""A coordinator's own account (time zone, password) and an admin switching accounts off.

Changing a password or deactivating an account ends that coordinator's other sessions
(the session cookie carries a token derived from the password and the active flag), so a
nurse who leaves, or whose password was seen, is signed out everywhere at once.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_user
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import Coordinator
from . import bp
from .audit import record
from .forms import ConfirmForm, PasswordChangeForm, TimezoneForm


def _page(zone_form: TimezoneForm, password_form: PasswordChangeForm, status: int = 200):
    return render_template(
        "coordinator/account.html", zone_form=zone_form, password_form=password_form
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
    current_user.password_hash = generate_password_hash(form.password.data)
    record("change_password", "coordinator", current_user.id)
    db.session.commit()
    login_user(current_user._get_current_object())  # this browser gets the new token
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
