"""The coordinator app's one blueprint, ``bp``, and what every page shares: the sign-in
check, security headers, error pages and template filters.

Every page needs a signed-in coordinator (checked once, in ``_require_sign_in``), every
form carries a CSRF token (the app-wide CSRFProtect). The view modules import ``bp`` from
here and add their routes to it; this module imports no view.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from .. import timefmt
from ..core.phones import for_humans
from ..extensions import db, login_manager
from ..models import Coordinator, utcnow
from ..patients import workup_path
from . import fields, sessions, sign_in_limit

bp = Blueprint(
    "coordinator",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/coordinator-static",
)

#: Endpoints reachable without signing in.
PUBLIC_ENDPOINTS = {"coordinator.sign_in", "coordinator.static"}
#: Asked for by a page's script, not by the person: they do not keep a session alive.
BACKGROUND_ENDPOINTS = {"coordinator.inbox_status"}
#: What a coordinator signed in with a temporary password may open until they change it.
TEMPORARY_PASSWORD_ENDPOINTS = {
    "coordinator.account",
    "coordinator.change_password",
    "coordinator.sign_out",
}

CSP = "Content-Security-Policy"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


@bp.before_request
def _require_sign_in():
    """Signed in less than ``SESSION_MAX_HOURS`` ago, active within ``SESSION_IDLE_MINUTES``,
    and not on a temporary password."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    now = utcnow()
    if request.endpoint in BACKGROUND_ENDPOINTS:
        # A page's script: a bare 401 when signed out or idle (the next page the person
        # opens signs them out and back to it), and never counted as use.
        if (
            not current_user.is_authenticated
            or sessions.idle_too_long(now)
            or sessions.too_old(now)
        ):
            return "", 401
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if sessions.too_old(now):
        sessions.end()
        flash(
            "You were signed out because you signed in more than "
            f"{current_app.config['SESSION_MAX_HOURS']} hours ago. Sign in again to go on.",
            "info",
        )
        return redirect(url_for("coordinator.sign_in", next=_where_they_were()))
    if sessions.idle_too_long(now):
        return _signed_out_for_idleness()
    sessions.touch(now)
    if sessions.must_change() and request.endpoint not in TEMPORARY_PASSWORD_ENDPOINTS:
        flash("You signed in with a temporary password. Choose your own to go on.", "warning")
        return redirect(url_for("coordinator.account"))
    return None


def _signed_out_for_idleness():
    """End the idle session; after signing in again, return to the page they were on."""
    sessions.end()
    minutes = current_app.config["SESSION_IDLE_MINUTES"]
    flash(
        f"You were signed out after {minutes} minutes without using the app. "
        "Sign in to go back to where you were.",
        "info",
    )
    return redirect(url_for("coordinator.sign_in", next=_where_they_were()))


def _where_they_were() -> str | None:
    """This page for a GET; for a form sent after the timeout, the page the form was on."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host or not referrer.path:
        return None
    return referrer.path + (f"?{referrer.query}" if referrer.query else "")


@bp.after_request
def _no_store(response):
    # Pages carry patient data: browsers and proxies must not keep copies.
    if request.endpoint != "coordinator.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_filter("local")
def local_time(value: datetime | None, zone: str | None = None, fmt: str = "%a %d %b %Y, %H:%M %Z"):
    """A naive-UTC time shown in ``zone`` (the signed-in coordinator's by default)."""
    if value is None:
        return ""
    if zone is None:
        zone = getattr(current_user, "timezone", None) or "UTC"
    return timefmt.local(value, zone).strftime(fmt)


@bp.app_template_filter("phone")
def phone_filter(value: str | None) -> str:
    return for_humans(value) if value else ""


def _forget_loaded_user():
    # A request inside an app context that is already pushed (tests; the try-it panel's
    # inner webhook requests) shares ``g``: load the user and the CSRF token from this
    # request's own session, never from the previous request's.
    g.pop("_login_user", None)
    g.pop(current_app.config["WTF_CSRF_FIELD_NAME"], None)


def _security_headers(response):
    """Each header above unless the view set its own (every response, the webhooks' too:
    one look at the headers present, not one search each)."""
    headers = response.headers
    present = {name.lower() for name, _ in headers}
    # TwiML for Twilio: the HTML policies mean nothing there.
    twiml = response.mimetype == "text/xml"
    for name, value in SECURITY_HEADERS.items():
        if name.lower() not in present and not (twiml and name == CSP):
            headers.add(name, value)
    if twiml and CSP.lower() in present:
        headers.pop(CSP, None)
    if current_app.config.get("NAVIGATOR_ENV") == "production":
        # Production is served over https only: browsers must never try plain http.
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def _error_page(code: int, title: str, text: str):
    def handler(error):
        return render_template("coordinator/error.html", code=code, title=title, text=text), code

    return handler


def _csrf_error(error):
    # The token is tied to the session, so this means the session behind the page ended
    # (signed out, timed out, signed in again elsewhere) or the form came from another site.
    return (
        render_template(
            "coordinator/error.html",
            code=400,
            title="This form has expired",
            text=(
                "Nothing was saved. The form was opened before you last signed in or out, "
                "so for safety it could not be sent. Go back, reload the page, "
                "then fill in the form and send it again."
            ),
        ),
        400,
    )


def init_app(app) -> None:
    """Register the blueprint at ``/``, sign-in, security headers and error pages."""
    for key, value in sign_in_limit.DEFAULTS.items():
        app.config.setdefault(key, value)
    app.config.setdefault("SESSION_IDLE_MINUTES", 30)
    app.config.setdefault("SITE_TIMEZONE", "America/New_York")
    login_manager.login_view = "coordinator.sign_in"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    app.session_interface = sessions.SessionCookies()
    app.register_blueprint(bp)
    app.before_request(_forget_loaded_user)
    app.after_request(_security_headers)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(
        400,
        _error_page(
            400,
            "This request could not be read",
            "Nothing was saved. Go back, reload the page and try again.",
        ),
    )
    app.register_error_handler(
        403, _error_page(403, "Not allowed", "Your account cannot open this page.")
    )
    app.register_error_handler(
        404, _error_page(404, "Page not found", "There is no page at this address.")
    )
    app.register_error_handler(
        500,
        _error_page(500, "Something went wrong", "The error was recorded. Please try again."),
    )

    workup_path.init_app(app)
    fields.init_app(app)


@login_manager.user_loader
def _load_coordinator(session_id: str):
    """The signed-in coordinator, unless the account was deactivated, its password
    changed (see ``Coordinator.get_id``), or it signed out since this session began
    (see ``sessions``): then the session is over."""
    number, _, token = session_id.partition(".")
    if not number.isdigit():
        return None
    coordinator = db.session.get(Coordinator, int(number))
    if coordinator is None or not coordinator.active:
        return None
    if not hmac.compare_digest(token, coordinator.session_token()):
        return None
    if sessions.ended_by_later_event(coordinator):
        return None
    return coordinator
