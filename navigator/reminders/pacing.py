"""Pacing reminder sends, so the site never hands Twilio more than its rate allows.

Rate
    ``SEND_RATE_PER_SECOND`` paces hand-overs for the whole site (0 lifts it): sends are
    spaced 1/(0.97 x rate) apart, so the achieved rate stays about 3% under the limit, never
    above it, even when the network bunches a few requests together. On PostgreSQL every
    worker takes its slot from one shared row, so a second worker for failover does not
    double the ceiling; the embedded SQLite mode runs one worker and paces in process.

Kept apart from the worker because the pacing is a rule of its own (a carrier's limit,
shared by every worker process) that the worker only asks for a slot; it knows nothing of
reminders.
"""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa
from flask import current_app

from ..extensions import db


class RateLimiter:
    """Spaces hand-overs at least 1/rate seconds apart, across threads. Rate 0 lifts it.

    ``clock`` and ``sleep`` are injectable so tests check the pacing without waiting.
    """

    #: Pace this much under the limit, so network jitter never shows the carrier more: at 1%
    #: two workers' sends bunched enough for 21 to land in one second under a limit of 20.
    HEADROOM = 0.97

    def __init__(self, rate: float, clock=time.monotonic, sleep=time.sleep):
        self.rate = rate
        self.clock = clock
        self.sleep = sleep
        self._next = None
        self._lock = threading.Lock()

    def acquire(self) -> None:
        if not self.rate:
            return
        with self._lock:
            now = self.clock()
            slot = now if self._next is None else max(self._next, now)
            self._next = slot + 1.0 / (self.rate * self.HEADROOM)
        if slot > now:
            self.sleep(slot - now)


class SharedRateLimiter(RateLimiter):
    """Spaces hand-overs 1/rate seconds apart across every worker process, on PostgreSQL.

    Each send takes the next slot from the single ``send_pacing`` row in one atomic UPDATE,
    timed by the database's clock so workers on different hosts agree; the row lock
    orders concurrent takers. The process then sleeps until its slot. One round trip per
    send, which is nothing beside the send itself.
    """

    TAKE_SLOT = sa.text("""
        UPDATE send_pacing
           SET next_at = GREATEST(next_at, CAST(extract(epoch FROM clock_timestamp()) AS double precision)) + :interval
         WHERE id = 1
        RETURNING next_at - :interval AS slot, CAST(extract(epoch FROM clock_timestamp()) AS double precision) AS now
    """)

    SEED = sa.text("INSERT INTO send_pacing (id, next_at) VALUES (1, 0) ON CONFLICT DO NOTHING")

    def __init__(self, rate: float, engine, sleep=time.sleep):
        super().__init__(rate, sleep=sleep)
        self.engine = engine

    def acquire(self) -> None:
        if not self.rate:
            return
        interval = 1.0 / (self.rate * self.HEADROOM)
        with self.engine.connect() as conn:
            row = conn.execute(self.TAKE_SLOT, {"interval": interval}).one_or_none()
            if row is None:  # the migration seeds the row; put it back if someone removed it
                conn.execute(self.SEED)
                row = conn.execute(self.TAKE_SLOT, {"interval": interval}).one()
            conn.commit()
        if row.slot > row.now:
            self.sleep(float(row.slot - row.now))


def process_limiter() -> RateLimiter:
    """The process's limiter: shared by all workers on PostgreSQL, in-process on SQLite
    (the embedded mode runs one worker)."""
    rate = current_app.config["SEND_RATE_PER_SECOND"]
    limiter = current_app.extensions.get("reminder_rate")
    if limiter is None or limiter.rate != rate:
        if db.engine.dialect.name == "postgresql":
            limiter = SharedRateLimiter(rate, db.engine)
        else:
            limiter = RateLimiter(rate)
        current_app.extensions["reminder_rate"] = limiter
    return limiter
