"""Sending the reminders that are due, exactly once: claim, send, settle.

The worker process (``navigator.scheduler``) calls ``send_due`` once a tick; a Twilio
status callback reaches ``record_delivery`` (registered with ``delivery.on_report``).
``now`` is always an argument (naive UTC), so tests move time instead of sleeping. When
reminders go is ``planning``'s to decide, what they say ``wording``'s, and how fast they
leave ``pacing``'s.

How a reminder is sent at most once (two workers, or a worker killed with SIGKILL)
    1. Claim: ``SELECT ... FOR UPDATE SKIP LOCKED`` picks due ``pending`` rows, then an
       ``UPDATE ... WHERE status='pending' RETURNING id`` moves them to ``sending`` with
       ``claimed_by`` and a lease measured from that claim (not from the start of a long
       tick), and the transaction commits. Two workers never claim the same row:
       PostgreSQL skips rows another transaction has locked, and the UPDATE's own status
       test re-checks. SQLite ignores the lock clause; it has one writer at a time,
       and the UPDATE's status test and RETURNING give the same effect.
    2. Record: for each claimed row the worker renders the text and writes the outbound
       ``Message`` row (status ``sending``, no SID yet), and commits, before any network call.
    3. Send: HTTP calls run in a small thread pool (no database in the threads). A worker
       checks its lease before each send (also after waiting for the rate limit) and hands
       back what it can no longer start safely.
    4. Record the answer: SID and ``sent`` (or retry/failed) as soon as the send returns,
       in a short commit with whatever else returned in the same ``SETTLE_EVERY``, never
       waiting for the batch; a delivery report that comes even sooner is kept and applied
       then (see delivery.py).
    A worker killed between 2 and 4 leaves rows in ``sending`` whose lease runs out. Such a
    row is *in doubt*: Twilio may or may not have it. So is a send whose answer never came
    (a read timeout, a connection broken after the request went): it stays in ``sending``
    with a lease until its retry time, and is settled the same way. It is never resent
    blindly. The next worker claims it with a fresh lease and looks at its Message row: no
    row means step 3 never began, so it is sent; a row with a SID means it went; a row
    without a SID is looked up at Twilio (``outbound.find_sent``: same number, our number,
    same body, since the row was written). Found: the SID is adopted and the reminder is
    ``sent``. Not found: it is sent now, or given up once its tries are spent. If the lookup
    fails, the row waits for the next tick. Nothing is lost, and
    nothing is sent twice unless Twilio accepts a request and then hides it from its own
    message list for longer than the lease, which it does not do.

Failures
    Network errors, 5xx and 429 are retried with backoff (``BACKOFF``) while the appointment
    is still ahead (an in-doubt one is looked up first, as above); permanent errors (21610,
    21211, 21614, other 4xx) mark the reminder ``failed`` with the reason and raise a
    ``delivery_failed`` alert. So does running out of attempts. 21610 (the number unsubscribed
    at the carrier) is also recorded as that number's opt-out, so later reminders are not
    tried and raise no more alerts. A reminder call Twilio refuses (or that runs out of
    attempts) is followed by the reminder as a text, as a missed call is. Status callbacks
    (``record_delivery``) may arrive in any order and never move a reminder back
    (delivered never becomes sent again).

Moving or cancelling an appointment cancels its ``pending`` reminders and those in
``sending`` without a SID (a dead worker's, or one in doubt), so a stale one is never sent;
a worker whose send of such a row was already on its way records the answer and leaves the
row cancelled, never retried.

This module never talks to Twilio itself (outbound.py does).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import update
from sqlalchemy.orm import selectinload

from .. import alerts, opt_outs
from ..extensions import db
from ..logs import failure
from ..models import (
    ACTIVE,
    Alert,
    Appointment,
    Caregiver,
    Contact,
    Message,
    Patient,
    Reminder,
    contact_upsert,
)
from ..telephony import delivery, outbound
from .pacing import RateLimiter, process_limiter
from .planning import (
    PREP_DELAY,
    after_quiet,
    carries_prep,
    copy_caregivers,
    in_quiet_hours,
)
from .wording import sms_key, sms_text

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(minutes=30),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
CALL_FAILED = ("no-answer", "busy", "failed", "canceled")
#: Twilio's "the number has unsubscribed" (a STOP sent to the carrier, not to us).
UNSUBSCRIBED = 21610
#: Share of the lease a batch may spend starting sends; the rest covers the last answers.
SEND_WINDOW = 0.8
#: How often (seconds) the answers of sends that have returned are recorded, together.
SETTLE_EVERY = 0.05


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_due(
    now: datetime,
    worker_id: str,
    limit: int | None = None,
    *,
    claimed_at: datetime | None = None,
) -> list[int]:
    """Claim up to ``limit`` reminders due by ``now`` for ``worker_id``; commits. Returns their
    ids. The lease runs from ``claimed_at`` (default ``now``): later in a long tick, the
    moment of this claim."""
    return _claim(
        Reminder.status == "pending",
        Reminder.due_at <= now,
        lease_until=(claimed_at or now) + LEASE,
        worker_id=worker_id,
        limit=limit or current_app.config["REMINDER_BATCH"],
    )


def claim_in_doubt(
    now: datetime,
    worker_id: str,
    limit: int | None = None,
    *,
    claimed_at: datetime | None = None,
) -> list[int]:
    """Claim rows left in ``sending`` whose lease ran out by ``now``; commits."""
    return _claim(
        Reminder.status == "sending",
        Reminder.lease_until < now,
        lease_until=(claimed_at or now) + LEASE,
        worker_id=worker_id,
        limit=limit or current_app.config["REMINDER_BATCH"],
    )


def _claim(*conditions, lease_until: datetime, worker_id: str, limit: int) -> list[int]:
    # Two statements in one transaction. On PostgreSQL the SELECT locks the rows it returns
    # and skips rows another worker has locked; the locks last until our commit. (A single
    # UPDATE ... WHERE id IN (SELECT ... SKIP LOCKED) is planned as a semi-join that can
    # re-run the locking subquery and claim nothing.) On SQLite, which has one writer at a
    # time, the UPDATE's own status test and RETURNING say which rows this worker got.
    candidates = list(
        db.session.scalars(
            db.select(Reminder.id)
            .where(*conditions)
            .order_by(Reminder.due_at, Reminder.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not candidates:
        db.session.commit()
        return []
    statement = (
        update(Reminder)
        .where(Reminder.id.in_(candidates), *conditions)
        .values(
            status="sending",
            claimed_by=worker_id,
            lease_until=lease_until,
            attempts=Reminder.attempts + 1,
        )
        .returning(Reminder.id)
    )
    ids = list(
        db.session.execute(statement, execution_options={"synchronize_session": False}).scalars()
    )
    db.session.commit()
    return sorted(ids)


def _load(ids: list[int]) -> list[Reminder]:
    return list(
        db.session.scalars(
            db.select(Reminder)
            .where(Reminder.id.in_(ids))
            .order_by(Reminder.due_at, Reminder.id)
            .options(
                selectinload(Reminder.appointment)
                .selectinload(Appointment.patient)
                .selectinload(Patient.caregivers)
            )
            .execution_options(populate_existing=True)
        )
    )


def _alert(reminder: Reminder, detail: str, message: Message | None = None) -> None:
    appointment = reminder.appointment
    if message is not None:
        raised = db.session.scalar(
            db.select(Alert).where(Alert.kind == "delivery_failed", Alert.message_id == message.id)
        )
        if raised is not None:  # delivery.record already told the coordinators
            raised.appointment_id = raised.appointment_id or appointment.id
            return
    alerts.raise_alert(
        "delivery_failed",
        reminder.recipient_phone,
        None,
        appointment=appointment,
        message=message,
        detail=detail,
    )


def _fail(reminder: Reminder, code: str | None, reason: str, *, alert: bool = True) -> None:
    reminder.status = "failed"
    reminder.error_code = code
    reminder.error_reason = reason[:300]
    reminder.lease_until = None
    if alert:
        _alert(reminder, f"reminder {reminder.id} to {reminder.role}: {reason}")
    log.warning("reminder=%s failed: %s", reminder.id, reason)


def _release(reminder: Reminder, due_at: datetime | None = None, undo_attempt: bool = False):
    reminder.status = "pending"
    reminder.lease_until = None
    reminder.claimed_by = None
    if due_at is not None:
        reminder.due_at = due_at
    if undo_attempt:
        reminder.attempts = max(0, reminder.attempts - 1)


#: Twilio lookups of in-doubt sends one tick makes at most; the rest wait for the next tick.
IN_DOUBT_LOOKUPS_PER_TICK = 20
#: A row whose settling failed unexpectedly is left alone this long (then tried again).
BAD_ROW_PAUSE = timedelta(minutes=5)


def _resolve_in_doubt(
    reminders: list[Reminder], now: datetime, lookups_left: int = IN_DOUBT_LOOKUPS_PER_TICK
) -> tuple[list, Counter]:
    """Settle rows a dead worker left in ``sending``; returns (work to send, counts).

    Each row is settled in a savepoint of its own: one that fails (a database error, a
    malformed row) is rolled back, logged without the database's DETAIL text, held for
    ``BAD_ROW_PAUSE`` and counted ``in_doubt``, and never stops the others. Twilio is asked
    about ``lookups_left`` rows at most; later ones are released for the next tick.
    """
    counts: Counter = Counter()
    work = []
    for reminder in reminders:
        if lookups_left <= 0:
            reminder.lease_until = now  # claimable again next tick
            counts["in_doubt"] += 1
            continue
        try:
            with db.session.begin_nested():
                looked_up = _resolve_one(reminder, now, counts, work)
        except Exception as exc:  # noqa: BLE001 - one bad row must not stop the others
            log.error("reminder=%s in doubt could not be settled: %s", reminder.id, failure(exc))
            db.session.expire(reminder)
            reminder.lease_until = now + BAD_ROW_PAUSE
            counts["in_doubt"] += 1
            continue
        lookups_left -= looked_up
        counts["looked_up"] += looked_up
    return work, counts


def _resolve_one(reminder: Reminder, now: datetime, counts: Counter, work: list) -> bool:
    """Settle one in-doubt row; True when Twilio was asked about it."""
    messages = list(
        db.session.scalars(
            db.select(Message).where(Message.reminder_id == reminder.id).order_by(Message.id)
        )
    )
    sent = next((m for m in messages if m.provider_sid), None)
    doubtful = next((m for m in messages if m.status == "sending" and not m.provider_sid), None)
    if sent is not None:
        _mark_sent(reminder, sent.provider_sid, now)
        counts["recovered"] += 1
    elif doubtful is not None:
        try:
            sid = outbound.find_sent(doubtful)
        except outbound.SendError:
            log.warning("reminder=%s in doubt and Twilio lookup failed; will retry", reminder.id)
            reminder.lease_until = now  # claimable again next tick, never resent blind
            counts["in_doubt"] += 1
            return True
        if sid:
            _adopt(reminder, doubtful, sid, "queued", now)
            delivery.apply_early([sid])
            counts["recovered"] += 1
        elif reminder.attempts > MAX_ATTEMPTS:
            # Every try so far timed out and Twilio has none of them: stop trying.
            doubtful.status = "not_sent"
            reason = f"gave up after {reminder.attempts - 1} tries: {reminder.error_reason}"
            _give_up(reminder, reminder.error_code, reason, counts)
        else:
            work.append((reminder, doubtful))
        return True
    else:
        work.append((reminder, None))
    return False


def _mark_sent(reminder: Reminder, sid: str, now: datetime) -> None:
    reminder.status = "sent"
    reminder.provider_sid = sid
    reminder.sent_at = now
    reminder.lease_until = None
    reminder.error_code = None


def _adopt(reminder: Reminder, message: Message, sid: str, status: str, now: datetime) -> None:
    """Record the SID Twilio gave; the caller then applies reports that came before it."""
    outbound.record_result(message, sid, status)
    _mark_sent(reminder, sid, now)


def _prepare(
    reminder: Reminder,
    existing: Message | None,
    now: datetime,
    opted_out: set[str],
    counts: Counter,
):
    """Decide one claimed reminder; returns its Message row to send, or None."""
    appointment = reminder.appointment
    patient = appointment.patient
    if appointment.status not in ACTIVE or appointment.starts_at <= now:
        reminder.status = "cancelled"
        reminder.error_reason = "appointment no longer ahead"
        counts["cancelled"] += 1
        return None
    if reminder.recipient_phone in opted_out:
        reminder.status = "skipped"
        reminder.error_reason = "opted out"
        counts["skipped"] += 1
        return None
    recipient: Patient | Caregiver = patient
    if reminder.role == "caregiver":
        recipient = next(
            (c for c in copy_caregivers(appointment) if c.phone == reminder.recipient_phone), None
        )
        if recipient is None:
            reminder.status = "skipped"
            reminder.error_reason = "caregiver no longer gets copies"
            counts["skipped"] += 1
            return None
    if in_quiet_hours(recipient, now):
        # Only a late tick or a retry gets here: plan() never puts a reminder in quiet hours.
        later = after_quiet(recipient, now)
        if later < appointment.starts_at:
            _release(reminder, later, undo_attempt=True)
            counts["deferred"] += 1
        else:
            _fail(reminder, None, "quiet hours until the appointment")
            counts["failed"] += 1
        return None
    if existing is not None:
        return existing
    if reminder.channel == "voice":
        return outbound.prepare_call(
            reminder.recipient_phone, patient_id=patient.id, reminder_id=reminder.id
        )
    return outbound.prepare_sms(
        reminder.recipient_phone,
        sms_text(reminder),
        patient_id=patient.id,
        content_key=sms_key(reminder),
        reminder_id=reminder.id,
    )


def _send_one(
    app,
    limiter: RateLimiter,
    deadline: float,
    clock,
    kind: str,
    to: str,
    body: str,
    url: str | None,
    callback: str | None,
):
    """Runs in a pool thread: no database here, only the HTTP call.

    The lease is checked before and again after waiting for the rate limit, which can be
    long: a send is only started while the claim is safely ours.
    """
    if clock() > deadline:
        return ("late", None, None)
    with app.app_context():
        outbound.warm()  # build this thread's client first, so pacing is what Twilio sees
        limiter.acquire()
        if clock() > deadline:
            return ("late", None, None)
        try:
            sid, status = outbound.request_twilio(kind, to, body, url=url, status_callback=callback)
        except outbound.SendError as exc:
            return ("error", exc, None)
    return ("ok", sid, status)


def _still_ours(reminders: list[Reminder]) -> set[int]:
    """The ids of these reminders still ours to settle, locked until the commit (PostgreSQL).

    A coordinator may have moved or cancelled the appointment while a send was on its way
    (``replace_pending`` cancels rows in ``sending`` without a SID).
    """
    return set(
        db.session.scalars(
            db.select(Reminder.id)
            .where(Reminder.id.in_([r.id for r in reminders]), Reminder.status == "sending")
            .order_by(Reminder.id)
            .with_for_update()
        )
    )


def _settle_superseded(reminder: Reminder, message: Message, outcome, now, counts) -> None:
    """Keep a superseded reminder cancelled: record what Twilio said, retry nothing."""
    state, first, second = outcome
    if state == "ok":
        outbound.record_result(message, first, second)
        reminder.provider_sid = first
        reminder.sent_at = now
    elif state == "late":
        db.session.delete(message)
    elif not first.in_doubt:
        outbound.record_result(message, None, "failed", first)
    counts["cancelled"] += 1


def _apply(
    reminder: Reminder, message: Message, outcome, now: datetime, counts: Counter, *, ours: bool
) -> None:
    state, first, second = outcome
    if not ours:
        _settle_superseded(reminder, message, outcome, now, counts)
        return
    if state == "ok":
        _adopt(reminder, message, first, second, now)
        counts["sent"] += 1
        return
    if state == "late":
        db.session.delete(message)
        _release(reminder, undo_attempt=True)
        counts["handed_back"] += 1
        return
    error: outbound.SendError = first
    code = str(error.code) if error.code else (str(error.status) if error.status else None)
    reminder.error_code = code
    reminder.error_reason = error.reason[:300]
    retry_at = now + BACKOFF[min(reminder.attempts, len(BACKOFF)) - 1]
    if error.in_doubt:
        _hold_in_doubt(reminder, retry_at, now)
        counts["retry"] += 1
        return
    outbound.record_result(message, None, "failed", error)
    if error.code == UNSUBSCRIBED:
        first_time = _carrier_opt_out(reminder.recipient_phone, now)
        _fail(reminder, code, f"{error.reason}: unsubscribed, now an opt-out", alert=first_time)
        counts["failed"] += 1
        return
    if error.permanent:
        _give_up(reminder, code, error.reason, counts)
        return
    if reminder.attempts >= MAX_ATTEMPTS or retry_at >= reminder.appointment.starts_at:
        _give_up(reminder, code, f"gave up after {reminder.attempts} tries: {error.reason}", counts)
        return
    _release(reminder, retry_at)
    counts["retry"] += 1


def _hold_in_doubt(reminder: Reminder, retry_at: datetime, now: datetime) -> None:
    """Twilio may have accepted this send: leave the row in ``sending`` and its Message
    without a SID, exactly as a killed worker would, so the in-doubt recovery asks Twilio
    before anything is sent again: at the retry time, or at the next tick when no retry
    fits before the appointment."""
    reminder.lease_until = retry_at if retry_at < reminder.appointment.starts_at else now
    log.warning("reminder=%s send in doubt; Twilio will be asked first", reminder.id)


def _give_up(reminder: Reminder, code: str | None, reason: str, counts: Counter) -> None:
    """A refused text fails with an alert; a refused call is followed by the same reminder
    as a text, as an unanswered call is (its own failure, if any, alerts)."""
    if reminder.channel != "voice":
        _fail(reminder, code, reason)
        counts["failed"] += 1
        return
    reminder.status = "undelivered"
    reminder.error_code = code
    reminder.error_reason = f"call refused ({reason}); texted instead"[:300]
    reminder.lease_until = None
    db.session.add_all(_texts_instead_of(reminder))
    log.warning("reminder=%s call refused; texted instead", reminder.id)
    counts["texted_instead"] += 1


def _carrier_opt_out(phone: str, now: datetime) -> bool:
    """Record the carrier's word that ``phone`` unsubscribed as that number's opt-out, so no
    later reminder tries it (or alerts again). True the first time."""
    db.session.execute(contact_upsert(phone, now))
    contact = db.session.scalar(
        db.select(Contact).where(Contact.phone == phone).execution_options(populate_existing=True)
    )
    if contact.opted_out:
        return False
    patient = db.session.scalar(db.select(Patient).where(Patient.phone == phone))
    return opt_outs.record_opt_out(contact, patient, now=now, channel="carrier")


def _settle(returned: list[tuple], now: datetime, counts: Counter) -> None:
    """Record the outcomes of the sends that have returned, in one short commit, at once:
    (reminder, message, outcome) triples. Then any delivery report that beat them here."""
    ours = _still_ours([reminder for reminder, _, _ in returned])
    for reminder, message, outcome in returned:
        _apply(reminder, message, outcome, now, counts, ours=reminder.id in ours)
    db.session.flush()
    delivery.apply_early(m.provider_sid for _, m, _ in returned if m.provider_sid)
    db.session.commit()


def _process(
    reminders: list[Reminder],
    existing: dict[int, Message | None],
    now: datetime,
    limiter: RateLimiter,
    counts: Counter,
    *,
    deadline: float,
    clock,
) -> None:
    # The claimed rows are ours until we commit their outcome, so they need not be reloaded
    # after the intermediate commit (reloading cost one query per row and per message).
    session = db.session()
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
    try:
        _process_claimed(reminders, existing, now, limiter, counts, deadline, clock)
    finally:
        session.expire_on_commit = expire_on_commit


def _process_claimed(
    reminders: list[Reminder],
    existing: dict[int, Message | None],
    now: datetime,
    limiter: RateLimiter,
    counts: Counter,
    deadline: float,
    clock,
) -> None:
    opted_out = opt_outs.opted_out_among({r.recipient_phone for r in reminders})
    latest: dict[tuple, datetime] = {}
    for reminder in reminders:
        key = (reminder.appointment_id, reminder.recipient_phone, reminder.role)
        latest[key] = max(latest.get(key, reminder.due_at), reminder.due_at)
    work = []
    for reminder in reminders:
        key = (reminder.appointment_id, reminder.recipient_phone, reminder.role)
        if reminder.due_at < latest[key]:
            # A worker that was down lets reminders pile up: send only the latest one.
            reminder.status = "skipped"
            reminder.error_reason = "superseded by a later reminder"
            counts["superseded"] += 1
            continue
        earlier = existing.get(reminder.id)
        message = _prepare(reminder, earlier, now, opted_out, counts)
        if message is not None:
            work.append((reminder, message))
        elif earlier is not None:
            earlier.status = "not_sent"  # an in-doubt row Twilio never had, now not needed
    db.session.commit()  # the Message rows exist before anything leaves: see the docstring
    if not work:
        return
    app = current_app._get_current_object()
    sms_callback = outbound.public_url("/twilio/status")
    call_callback = outbound.public_url("/twilio/reminder-call/status")
    threads = int(app.config["REMINDER_SEND_THREADS"])
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        on_the_wire = {}
        kept_here = []
        for reminder, message in work:
            if message.transport == "outbox":
                kept_here.append((reminder, message))
                continue
            url = None
            callback = sms_callback
            if message.channel == "voice":
                url = outbound.public_url(f"/twilio/reminder-call/{reminder.id}")
                callback = call_callback
            job = (message.channel, message.phone, message.body, url, callback)
            future = pool.submit(_send_one, app, limiter, deadline, clock, *job)
            on_the_wire[future] = (reminder, message)
        for reminder, message in kept_here:
            limiter.acquire()
            outcome = ("ok", outbound.outbox_sid(message.channel), "queued")
            _settle([(reminder, message, outcome)], now, counts)
        waiting = set(on_the_wire)
        while waiting:
            # What returned in the last moment is recorded together: no send waits for the
            # rest of its batch, and a busy worker does not commit once per send.
            returned, waiting = wait(waiting, timeout=SETTLE_EVERY)
            if returned:
                _settle([(*on_the_wire[f], f.result()) for f in returned], now, counts)


def send_due(
    now: datetime,
    worker_id: str | None = None,
    *,
    limit: int | None = None,
    limiter: RateLimiter | None = None,
    clock=time.monotonic,
) -> Counter:
    """One worker tick: settle in-doubt rows, then claim and send everything due.

    ``now`` is the tick's time; ``clock`` (seconds, monotonic) measures how long the tick
    has run, so each batch's lease counts from its own claim. Returns counts by outcome
    (sent, retry, failed, skipped, recovered, ...). Commits.
    """
    worker_id = worker_id or default_worker_id()
    limiter = limiter or process_limiter()
    batch = limit or int(current_app.config["REMINDER_BATCH"])
    if limiter.rate:
        # A batch must finish well inside the lease at the configured pace.
        batch = max(1, min(batch, int(limiter.rate * LEASE.total_seconds() / 2)))
    counts: Counter = Counter()
    delivery.apply_all_early(now)
    db.session.commit()
    started = clock()

    def claim(claimer) -> tuple[list[int], float]:
        """Claim a batch; returns its ids and the clock time to stop starting sends."""
        at = clock()
        ids = claimer(now, worker_id, batch, claimed_at=now + timedelta(seconds=at - started))
        return ids, at + LEASE.total_seconds() * SEND_WINDOW

    lookups_left = IN_DOUBT_LOOKUPS_PER_TICK
    while (claimed := claim(claim_in_doubt))[0]:
        ids, deadline = claimed
        work, settled = _resolve_in_doubt(_load(ids), now, lookups_left)
        lookups_left -= settled.pop("looked_up", 0)
        counts.update(settled)
        db.session.commit()
        existing = {r.id: m for r, m in work}
        reminders = [r for r, _ in work]
        _process(reminders, existing, now, limiter, counts, deadline=deadline, clock=clock)
        if settled["in_doubt"]:
            break
    while (claimed := claim(claim_due))[0]:
        ids, deadline = claimed
        _process(_load(ids), {}, now, limiter, counts, deadline=deadline, clock=clock)
        if limit:
            break
    return counts


# -- delivery callbacks ----------------------------------------------------------------------


def _texts_instead_of(call: Reminder) -> list[Reminder]:
    """The texts that replace a missed reminder call: the reminder, and the preparation too
    when the call would have read it (the day-before call), as the SMS plan would have sent."""
    roles = [call.role]
    if carries_prep(call):
        roles.append("prep")
    return [
        Reminder(
            appointment_id=call.appointment_id,
            recipient_phone=call.recipient_phone,
            role=role,
            channel="sms",
            offset=call.offset,
            # already due: the next tick sends them, the preparation a minute after
            due_at=call.due_at + (PREP_DELAY if role == "prep" else timedelta()),
            status="pending",
            attempts=0,
        )
        for role in roles
    ]


@delivery.on_report
def record_delivery(sid: str, status: str, error_code: str | None = None) -> Reminder | None:
    """Apply a Twilio status callback to the Reminder it concerns; the caller commits.

    ``delivery.record`` has already moved the Message row (the one place that does); this
    adds what a reminder needs on top.

    Tolerates callbacks out of order and repeated: a state never moves back (a ``delivered``
    text stays delivered when a late ``sent`` arrives). An undelivered or failed text raises
    a ``delivery_failed`` alert; an unanswered, busy or failed reminder call is followed by
    the same reminder as a text (a new row the worker sends, so opt-out and quiet hours still
    apply). Returns the reminder, or None when the SID is not a reminder's.
    """
    status = (status or "").strip().lower()
    message = db.session.scalar(db.select(Message).where(Message.provider_sid == sid))
    reminder = db.session.scalar(db.select(Reminder).where(Reminder.provider_sid == sid))
    if reminder is None or reminder.status not in ("sent", "sending"):
        return reminder
    if reminder.channel == "voice":
        if status in CALL_FAILED:
            reminder.status = "undelivered"
            reminder.error_reason = f"call {status}; texted instead"
            db.session.add_all(_texts_instead_of(reminder))
        elif status == "completed":
            reminder.status = "delivered"
    elif status in ("delivered", "read"):
        reminder.status = "delivered"
    elif status in ("undelivered", "failed"):
        reminder.status = "undelivered" if status == "undelivered" else "failed"
        reminder.error_code = str(error_code) if error_code else None
        reminder.error_reason = f"carrier says {status}"
        _alert(reminder, f"reminder {reminder.id}: {status} {error_code or ''}".strip(), message)
    db.session.flush()
    return reminder
