"""The limit on failed sign-ins: per email address, known or not, and per client address.

An email that has failed ``COORDINATOR_MAX_FAILED_SIGN_INS`` times in a row is locked for
``COORDINATOR_LOCKOUT_MINUTES``, whether or not a coordinator signs in with it, so neither
the messages nor the lock tell anyone which emails exist. For a real account the count
and the lock are its own columns (an admin sees and lifts the lock on the *Coordinators*
page); for any other email they are read back from the audit log.

A client address with ``COORDINATOR_MAX_FAILED_SIGN_INS_PER_CLIENT`` failures within the
lockout minutes is refused too, which stops one machine trying many emails. The limit is
set well above one person's typing, because a clinic's computers often share an address.

Every count changes atomically in the database *before* the password is compared
(``claim``), so parallel attempts on many workers cannot get past the limit. Unknown
emails and client addresses are counted in ``sign_in_counters``, keyed by digest.

Audit rows name the email and the client address only as keyed digests (HMAC with the
app's secret): enough to count, nothing to read back.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, request

from ..audit.records import record
from ..extensions import db
from ..models import Coordinator, SignInCounter, insert

log = logging.getLogger(__name__)

#: Defaults; a deployment may override them in app.config.
DEFAULTS = {
    "COORDINATOR_MAX_FAILED_SIGN_INS": 5,
    "COORDINATOR_LOCKOUT_MINUTES": 15,
    "COORDINATOR_MAX_FAILED_SIGN_INS_PER_CLIENT": 30,
}

#: Failures of an unknown email older than this are forgotten.
UNKNOWN_EMAIL_MEMORY = timedelta(days=1)

COORDINATORS = Coordinator.__table__
COUNTERS = SignInCounter.__table__


class Attempt:
    """One sign-in attempt: the keyed digests of its email and client address."""

    def __init__(self, email: str):
        self.email = _digest("email", email.strip().lower())
        # Behind TRUSTED_PROXIES, ProxyFix has put the proxies' X-Forwarded-For here;
        # otherwise the header is ignored and this is the connecting address.
        self.client = _digest("client", request.remote_addr or "")
        self.claimed: int | None = None  # this try's place in the email's run of failures
        self.client_claimed = False

    @property
    def detail(self) -> str:
        return f"email {self.email} client {self.client}"


def claim(attempt: Attempt, coordinator: Coordinator | None, now: datetime) -> bool:
    """Count this attempt as a failure *before* any password is compared; commits.

    Returns False when the email or the client address may not try now. Each count is
    one atomic statement (an UPDATE or an upsert whose WHERE refuses past the limit), so
    parallel attempts, on any number of workers and threads, can never compare more
    passwords than the limit allows: the sixth of six simultaneous tries is refused
    before its password is looked at. ``failed`` and ``succeeded`` settle the count.
    """
    config = current_app.config
    client_ok = _claim_counter(
        "client:" + attempt.client,
        config["COORDINATOR_MAX_FAILED_SIGN_INS_PER_CLIENT"],
        now,
        forget_after=_lockout(),
    )
    if coordinator is not None:
        attempt.claimed = _claim_account(
            coordinator, config["COORDINATOR_MAX_FAILED_SIGN_INS"], now
        )
    else:
        attempt.claimed = _claim_counter(
            "email:" + attempt.email,
            config["COORDINATOR_MAX_FAILED_SIGN_INS"],
            now,
            forget_after=UNKNOWN_EMAIL_MEMORY,
        )
    db.session.commit()
    attempt.client_claimed = client_ok is not None
    return client_ok is not None and attempt.claimed is not None


def failed(attempt: Attempt, coordinator: Coordinator | None, now: datetime) -> bool:
    """A wrong password (the caller commits); True when this failure locks the email."""
    limit = current_app.config["COORDINATOR_MAX_FAILED_SIGN_INS"]
    minutes = current_app.config["COORDINATOR_LOCKOUT_MINUTES"]
    who = coordinator.id if coordinator is not None else None
    record("sign_in_failed", "coordinator", who, attempt.detail, coordinator_id=who)
    if (attempt.claimed or 0) < limit:
        return False
    until = now + _lockout()
    if coordinator is not None:
        db.session.execute(
            sa.update(COORDINATORS)
            .where(COORDINATORS.c.id == coordinator.id)
            .values(locked_until=until, failed_logins=0)
        )
        db.session.refresh(coordinator)
    else:
        db.session.execute(
            sa.update(COUNTERS)
            .where(COUNTERS.c.key == "email:" + attempt.email)
            .values(locked_until=until, tries=0)
        )
    record(
        "lock",
        "coordinator",
        who,
        f"email {attempt.email}: locked for {minutes} minutes after {limit} failed sign-ins",
        coordinator_id=who,
    )
    log.warning("sign-in locked for coordinator %s after %s failures", who or "(unknown)", limit)
    return True


def succeeded(attempt: Attempt, coordinator: Coordinator) -> None:
    """A right password: the run of failures is over, and this try was not one."""
    coordinator.failed_logins = 0
    coordinator.locked_until = None
    if attempt.client_claimed:
        db.session.execute(
            sa.update(COUNTERS)
            .where(COUNTERS.c.key == "client:" + attempt.client, COUNTERS.c.tries > 0)
            .values(tries=COUNTERS.c.tries - 1)
        )


def _lockout() -> timedelta:
    return timedelta(minutes=current_app.config["COORDINATOR_LOCKOUT_MINUTES"])


def _claim_account(coordinator: Coordinator, limit: int, now: datetime) -> int | None:
    """One more try on a real account, unless it is locked or at its limit: its count."""
    count = db.session.execute(
        sa.update(COORDINATORS)
        .where(
            COORDINATORS.c.id == coordinator.id,
            sa.or_(COORDINATORS.c.locked_until.is_(None), COORDINATORS.c.locked_until <= now),
            COORDINATORS.c.failed_logins < limit,
        )
        .values(failed_logins=COORDINATORS.c.failed_logins + 1, locked_until=None)
        .returning(COORDINATORS.c.failed_logins)
    ).scalar()
    db.session.expire(coordinator, ["failed_logins", "locked_until"])
    return count


def _claim_counter(key: str, limit: int, now: datetime, *, forget_after: timedelta) -> int | None:
    """One more try on an unknown email or a client address: its count, None if refused.

    A lock that has ended, or a count untouched for ``forget_after``, starts again at 1.
    """
    table = COUNTERS
    stale = sa.or_(table.c.locked_until <= now, table.c.updated_at <= now - forget_after)
    statement = insert(SignInCounter).values(key=key, tries=1, locked_until=None, updated_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "tries": sa.case((stale, 1), else_=table.c.tries + 1),
            "locked_until": sa.case(
                (table.c.locked_until <= now, None), else_=table.c.locked_until
            ),
            "updated_at": now,
        },
        where=sa.and_(
            sa.or_(table.c.locked_until.is_(None), table.c.locked_until <= now),
            sa.or_(table.c.tries < limit, stale),
        ),
    ).returning(table.c.tries)
    return db.session.execute(statement).scalar()


def _digest(kind: str, value: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:16]
