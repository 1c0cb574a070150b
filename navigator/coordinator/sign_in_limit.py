"""The limit on failed sign-ins: per email address, known or not, and per client address.

An email that has failed ``COORDINATOR_MAX_FAILED_SIGN_INS`` times in a row is locked for
``COORDINATOR_LOCKOUT_MINUTES``, whether or not a coordinator signs in with it, so neither
the messages nor the lock tell anyone which emails exist. For a real account the count
and the lock are its own columns (an admin sees and lifts the lock on the *Coordinators*
page); for any other email they are read back from the audit log.

A client address with ``COORDINATOR_MAX_FAILED_SIGN_INS_PER_CLIENT`` failures within the
lockout minutes is refused too, which stops one machine trying many emails. The limit is
set well above one person's typing, because a clinic's computers often share an address.

Audit rows name the email and the client address only as keyed digests (HMAC with the
app's secret): enough to count, nothing to read back.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime, timedelta

from flask import current_app, request

from ..extensions import db
from ..models import AuditEvent, Coordinator
from .audit import record

log = logging.getLogger(__name__)

#: Defaults; a deployment may override them in app.config.
DEFAULTS = {
    "COORDINATOR_MAX_FAILED_SIGN_INS": 5,
    "COORDINATOR_LOCKOUT_MINUTES": 15,
    "COORDINATOR_MAX_FAILED_SIGN_INS_PER_CLIENT": 30,
}

#: Failures of an unknown email older than this are forgotten (a bound on the search).
UNKNOWN_EMAIL_MEMORY = timedelta(days=1)


class Attempt:
    """One sign-in attempt: the keyed digests of its email and client address."""

    def __init__(self, email: str):
        self.email = _digest("email", email.strip().lower())
        self.client = _digest("client", request.remote_addr or "")

    @property
    def detail(self) -> str:
        return f"email {self.email} client {self.client}"


def locked(attempt: Attempt, coordinator: Coordinator | None, now: datetime) -> bool:
    """True when this email, or this client address, may not sign in now."""
    per_client = current_app.config["COORDINATOR_MAX_FAILED_SIGN_INS_PER_CLIENT"]
    if _client_failures(attempt, now) >= per_client:
        return True
    if coordinator is not None:
        return bool(coordinator.locked_until and coordinator.locked_until > now)
    last_lock = _last_unknown_lock(attempt, now)
    return last_lock is not None and last_lock + _lockout() > now


def failed(attempt: Attempt, coordinator: Coordinator | None, now: datetime) -> bool:
    """Count a wrong password (the caller commits); True when it locks the email."""
    limit = current_app.config["COORDINATOR_MAX_FAILED_SIGN_INS"]
    minutes = current_app.config["COORDINATOR_LOCKOUT_MINUTES"]
    who = coordinator.id if coordinator is not None else None
    record("sign_in_failed", "coordinator", who, attempt.detail, coordinator_id=who)
    if coordinator is not None:
        coordinator.failed_logins = (coordinator.failed_logins or 0) + 1
        if coordinator.failed_logins < limit:
            return False
        coordinator.locked_until = now + _lockout()
        coordinator.failed_logins = 0
    else:
        db.session.flush()
        if _unknown_failures(attempt, now) < limit:
            return False
    record(
        "lock",
        "coordinator",
        who,
        f"email {attempt.email}: locked for {minutes} minutes after {limit} failed sign-ins",
        coordinator_id=who,
    )
    log.warning("sign-in locked for coordinator %s after %s failures", who or "(unknown)", limit)
    return True


def succeeded(coordinator: Coordinator) -> None:
    """A right password: the run of failures is over."""
    coordinator.failed_logins = 0
    coordinator.locked_until = None


def _lockout() -> timedelta:
    return timedelta(minutes=current_app.config["COORDINATOR_LOCKOUT_MINUTES"])


def _client_failures(attempt: Attempt, now: datetime) -> int:
    return db.session.scalar(
        db.select(db.func.count(AuditEvent.id)).where(
            AuditEvent.created_at > now - _lockout(),
            AuditEvent.action == "sign_in_failed",
            AuditEvent.detail.like(f"% client {attempt.client}"),
        )
    )


def _last_unknown_lock(attempt: Attempt, now: datetime) -> datetime | None:
    return db.session.scalar(
        db.select(db.func.max(AuditEvent.created_at)).where(
            AuditEvent.created_at > now - max(UNKNOWN_EMAIL_MEMORY, _lockout()),
            AuditEvent.action == "lock",
            AuditEvent.entity_id.is_(None),
            AuditEvent.detail.like(f"email {attempt.email}:%"),
        )
    )


def _unknown_failures(attempt: Attempt, now: datetime) -> int:
    """Failures of this unknown email since its last lock (within a day)."""
    since = now - UNKNOWN_EMAIL_MEMORY
    last_lock = _last_unknown_lock(attempt, now)
    if last_lock is not None and last_lock > since:
        since = last_lock
    return db.session.scalar(
        db.select(db.func.count(AuditEvent.id)).where(
            AuditEvent.created_at > since,
            AuditEvent.action == "sign_in_failed",
            AuditEvent.entity_id.is_(None),
            AuditEvent.detail.like(f"email {attempt.email} %"),
        )
    )


def _digest(kind: str, value: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:16]
