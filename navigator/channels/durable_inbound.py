"""What a patient sends is never lost, and a warning sign is answered without the database.

The webhooks call in here at three moments:

1. ``first_screen`` runs the warning-sign screen on the words alone, before any database
   work, so the safety advice can go out whatever happens next.
2. When storing a text or a call step fails (the database down, hung past its time limits,
   or failing part way), ``keep_text`` / ``keep_speech`` / ``keep_recording`` put it in the
   durable local spool (spool.py) before the patient gets the advice or the apology.
3. ``recover`` (every worker tick) and ``drain_soon`` (after a webhook that reached the
   database) store, screen and alert what was kept, once, by its Twilio SID; ``recover``
   also finishes texts that were stored but whose effects never completed (a crash
   between the two halves of a turn, see turns.py).

Texts stored late get their effects (an alert, an opt-out) but no late reply: the patient
already got the safety advice or the apology with the care team's number.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from datetime import datetime, timedelta

from flask import current_app

from .. import alerts, logs
from ..catalog import catalog
from ..core.engine import engine_for
from ..extensions import db
from ..models import Message
from ..patients.enrolment import contact_for, patient_for
from ..telephony.spool import Spool
from . import outcomes, texting
from .turns import RECEIVED

log = logging.getLogger(__name__)

#: A stored text still unhandled this long after it came is finished by the worker; younger
#: ones may still be in the hands of a web worker.
UNFINISHED_AFTER = timedelta(minutes=2)
#: How far back the worker looks for unfinished texts (a bound on the search).
UNFINISHED_WITHIN = timedelta(days=2)
UNFINISHED_BATCH = 50

_draining = threading.Lock()


def first_screen(words: str):
    """The warning sign in ``words``, or None: pure, no database (English preferred on a
    tie, since the person's language cannot be read yet)."""
    if not words:
        return None
    return engine_for(catalog()).screen.check(words, prefer="en")


def spool() -> Spool:
    return _spool_in(current_app.config["SPOOL_DIR"])


@functools.lru_cache(maxsize=16)
def _spool_in(folder) -> Spool:
    """One ``Spool`` per folder (it keeps nothing but its paths): every webhook that
    reached the database asks it whether anything waits."""
    return Spool(folder)


def _keep(step: dict, exc: BaseException | None, reason: str) -> None:
    """Roll back what failed, then put the step in the spool (flushed before returning)."""
    if exc is None:
        log.warning("%s %s kept in the spool: %s", step["kind"], step["sid"], reason)
    else:
        log.error(
            "could not store %s %s; kept in the spool: %s",
            step["kind"],
            step["sid"],
            logs.failure(exc),
        )
        try:
            db.session.rollback()
        except Exception as rollback_exc:  # noqa: BLE001 - the step must still be kept
            log.error("rollback failed too: %s", logs.failure(rollback_exc))
    try:
        spool().keep(step)
    except OSError as disk_exc:
        log.critical(
            "the spool refused %s %s: %s", step["kind"], step["sid"], type(disk_exc).__name__
        )


def keep_text(
    sid: str,
    phone: str,
    body: str,
    received_at: datetime,
    exc: BaseException | None = None,
    *,
    reason: str = "",
) -> None:
    """An inbound text the database could not take (``exc``), or that came to the fallback
    URL (``reason``)."""
    step = {"kind": "sms", "sid": sid, "phone": phone, "body": body, "at": received_at.isoformat()}
    _keep(step, exc, reason)


def keep_speech(
    call_sid: str,
    phone: str | None,
    speech: str,
    exc: BaseException | None = None,
    *,
    reason: str = "",
) -> None:
    """What a caller said at a prompt when the database could not take it."""
    step_sid = call_sid + ":" + hashlib.sha256(speech.encode()).hexdigest()[:12]
    _keep({"kind": "speech", "sid": step_sid, "phone": phone or "", "body": speech}, exc, reason)


def keep_recording(
    recording_sid: str, phone: str | None, url: str, received_at: datetime, exc: BaseException
) -> None:
    """A voicemail left while the database could not take it."""
    step = {
        "kind": "recording",
        "sid": recording_sid,
        "phone": phone or "",
        "url": url,
        "at": received_at.isoformat(),
    }
    _keep(step, exc, "")


def replay(step: dict) -> None:
    """Store one kept step and carry out its effects, once; commits.

    :raise Exception: it still cannot be stored (it stays in the spool).
    """
    try:
        if step["kind"] == "sms":
            texting.converse(
                step["sid"],
                step["phone"],
                step["body"],
                datetime.fromisoformat(step["at"]),
                answering=False,
            )
            return
        contact = _contact(step["phone"])
        patient = patient_for(contact.phone) if contact else None
        if step["kind"] == "recording":
            alerts.raise_alert(
                "voicemail",
                contact,
                patient,
                detail="recorded message",
                recording_url=step["url"] or None,
                source_sid=step["sid"],
            )
        elif step["kind"] == "speech":
            flag = first_screen(step["body"])
            if flag is not None:
                alerts.raise_alert(
                    "red_flag", contact, patient, detail=flag.rule, source_sid=step["sid"]
                )
            elif contact is not None:
                # No warning sign, but they were cut short: a coordinator calls back.
                outcomes.request_callback(contact, patient, detail="call cut short by an outage")
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def _contact(phone: str):
    return contact_for(phone) if phone else None


def drain() -> tuple[int, int]:
    """Store everything in the spool (see ``replay``); return (done, still kept)."""
    done, kept = spool().drain(replay)
    if done or kept:
        log.info("spool drained: %d stored, %d still kept", done, kept)
    return done, kept


def drain_soon() -> None:
    """After a webhook reached the database: if anything waits in the spool, store it in a
    background thread (one per process), so the request that noticed is not slowed."""
    if not spool().waiting() or not _draining.acquire(blocking=False):
        return
    app = current_app._get_current_object()

    def run():
        try:
            with app.app_context():
                try:
                    drain()
                finally:
                    db.session.remove()
        except Exception as exc:  # noqa: BLE001 - the worker's tick tries again
            log.error("draining the spool failed: %s", logs.failure(exc))
        finally:
            _draining.release()

    threading.Thread(target=run, name="spool-drain", daemon=True).start()


def finish_unfinished(now: datetime) -> int:
    """Finish texts that were stored but never handled; return how many.

    Each is its own transaction: one that fails again is logged and left for the next tick,
    and never stops the others.
    """
    rows = db.session.execute(
        db.select(Message.provider_sid, Message.phone, Message.body, Message.created_at)
        .where(
            Message.direction == "in",
            Message.channel == "sms",
            Message.status == RECEIVED,
            Message.created_at < now - UNFINISHED_AFTER,
            Message.created_at > now - UNFINISHED_WITHIN,
        )
        .order_by(Message.created_at)
        .limit(UNFINISHED_BATCH)
    ).all()
    db.session.rollback()
    finished = 0
    for sid, phone, body, created_at in rows:
        try:
            texting.converse(sid, phone, body, created_at, answering=False)
            finished += 1
        except Exception as exc:  # noqa: BLE001 - one bad row must not stop the others
            db.session.rollback()
            log.error("unfinished text %s still failing: %s", sid, logs.failure(exc))
    return finished


def recover(now: datetime) -> dict:
    """The worker's part: drain the spool, then finish unfinished texts."""
    done, kept = drain()
    finished = finish_unfinished(now)
    counts = {"spooled_stored": done, "spooled_kept": kept, "unfinished_finished": finished}
    return {name: count for name, count in counts.items() if count}
