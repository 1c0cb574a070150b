"""A coordinator's session: when it began, when it was last used, and what ends it.

The session lives in a signed cookie, so its contents cannot be forged, but a copy of it
would go on working unless the server can tell it is stale. Here a session ends when:

- the coordinator signs out (on any browser), changes their password, or an admin sets
  them a temporary one: each moves ``Coordinator.sessions_valid_after`` (``accounts.end_sessions_everywhere``)
  beside its audit row, and a session that began before that moment is refused
  (``ended_by_later_event``), so no cookie copied before it opens a page again;
- ``SESSION_IDLE_MINUTES`` pass without a request (``idle_too_long``);
- ``SESSION_MAX_HOURS`` (12) pass since the sign-in, whatever the activity (``too_old``);
- the password changes or the account is switched off (the token in
  ``Coordinator.get_id``).

A coordinator signed in with a temporary password may only choose a new one until they do
(``Coordinator.must_change_password``, copied into the session as ``MUST_CHANGE``).
Nothing here logs or stores a password.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import login_user, logout_user

from ..models import Coordinator, utcnow

#: Where Twilio's webhooks live (channels/): requests Twilio makes, never a browser.
WEBHOOKS = "/twilio/"


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signer built once per secret key.

    Flask builds it afresh on every request, the webhooks' included, though it depends
    only on the keys; the cookies it reads and writes are the same.
    """

    _signer: tuple | None = None

    def get_signing_serializer(self, app):
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        kept = self._signer
        if kept is None or kept[0] != keys:
            kept = self._signer = (keys, super().get_signing_serializer(app))
        return kept[1]

    def open_session(self, app, request):
        """No session for Twilio's webhooks: Twilio sends no cookie and keeps none, and a
        session there would only cost every text and call step a cookie read and a save."""
        if request.path.startswith(WEBHOOKS):
            return self.make_null_session(app)
        return super().open_session(app, request)


STARTED = "coordinator_session_started"
SEEN = "coordinator_session_seen"
MUST_CHANGE = "coordinator_must_change_password"


def start(coordinator: Coordinator, now: datetime | None = None) -> None:
    """Begin a fresh session for ``coordinator`` (after their sign-in row is committed).

    Whatever the browser's session held before (another account's flags, an old CSRF
    token) is dropped first.
    """
    now = now or utcnow()
    session.clear()
    login_user(coordinator)
    session[STARTED] = now.isoformat()
    session[SEEN] = now.isoformat()
    if has_temporary_password(coordinator):
        session[MUST_CHANGE] = True


def end() -> None:
    """Forget the session in this browser (the caller records why, if it is a change)."""
    logout_user()
    session.clear()


def ended_by_later_event(coordinator: Coordinator) -> bool:
    """True when the session began before a sign-out or password change of this account.

    Sessions without a start time (made before this check existed) count as ended.
    """
    started = _moment(session.get(STARTED))
    if started is None:
        return True
    ended = coordinator.sessions_valid_after
    return ended is not None and started < ended


def idle_too_long(now: datetime) -> bool:
    """True when the last request of this session was too long ago."""
    seen = _moment(session.get(SEEN))
    limit = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    return seen is None or now - seen > limit


def too_old(now: datetime) -> bool:
    """True when the session began more than ``SESSION_MAX_HOURS`` ago, however busy it
    was since: a stolen or forgotten cookie stops working within a working day."""
    started = _moment(session.get(STARTED))
    limit = timedelta(hours=current_app.config["SESSION_MAX_HOURS"])
    return started is None or now - started > limit


def touch(now: datetime) -> None:
    """Note this request as the session's latest."""
    session[SEEN] = now.isoformat()


def has_temporary_password(coordinator: Coordinator) -> bool:
    """True when an admin set this password and the coordinator has not changed it since."""
    return bool(coordinator.must_change_password)


def must_change() -> bool:
    """True while this session was opened with a temporary password not yet replaced."""
    return bool(session.get(MUST_CHANGE))


def password_changed(coordinator: Coordinator, now: datetime | None = None) -> None:
    """This browser chose a new password: it stays signed in, with no temporary flag.

    Called after the ``change_password`` row is committed, so that row ends every other
    session but not this one.
    """
    now = now or utcnow()
    login_user(coordinator)  # the cookie gets the token of the new password
    session[STARTED] = now.isoformat()
    session[SEEN] = now.isoformat()
    session.pop(MUST_CHANGE, None)


def _moment(text) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except (TypeError, ValueError):
        return None
