"""The reminder worker: its own process, never inside a web worker.

``python -m navigator.scheduler`` (the Procfile's ``worker:``) runs an APScheduler
``BlockingScheduler`` with one job, ``reminders-tick``, that wakes every ``--interval``
seconds and runs one ``worker.send_due`` tick in an app context. Reminders are rows in
the database; the scheduler keeps no job store and only wakes the worker, so a restart
loses nothing and two workers are safe (see reminders/worker.py on claiming).

The job has an explicit id with ``replace_existing``, ``coalesce`` (ticks missed while the
process was busy or asleep run once, not once each), ``max_instances=1`` (a slow tick is not
overlapped by the next one) and a generous ``misfire_grace_time``, so a late tick still runs.
``--once`` runs a single tick and exits, like ``flask --app wsgi reminders send-due``.
SIGTERM lets the running tick finish before the process exits; SIGKILL is survived by design
(see reminders/worker.py).
"""

from __future__ import annotations

import argparse
import logging
import signal
from datetime import UTC, datetime

from apscheduler.schedulers.blocking import BlockingScheduler

from .app import create_app
from .channels import durable_inbound
from .extensions import db
from .logs import failure
from .models import utcnow
from .reminders import worker

log = logging.getLogger("navigator.worker")

JOB_ID = "reminders-tick"


def tick(app, worker_id: str | None = None) -> dict:
    """One tick: send every due reminder. Errors are logged; the next tick tries again."""
    with app.app_context():
        log.debug("reminder tick starting")
        _recover_inbound()
        try:
            counts = worker.send_due(utcnow(), worker_id or worker.default_worker_id())
        except Exception as exc:  # noqa: BLE001 - the next tick tries again
            # Never log.exception: a database error's DETAIL line quotes the row it failed
            # on (a phone number, a text). Type, code and place are enough.
            log.error("reminder tick failed; the next tick will try again: %s", failure(exc))
            db.session.rollback()
            return {}
        finally:
            db.session.remove()
        if counts:
            log.info("reminder tick: %s", dict(counts))
        return dict(counts)


def _recover_inbound() -> None:
    """Store what the webhooks kept in the spool during an outage, and finish texts whose
    effects never completed (durable_inbound). A failure here never stops the reminders."""
    try:
        counts = durable_inbound.recover(utcnow())
    except Exception as exc:  # noqa: BLE001 - the database may still be down: next tick
        db.session.rollback()
        log.error("inbound recovery failed; the next tick tries again: %s", failure(exc))
        return
    if counts:
        log.info("inbound recovery: %s", counts)


def build(app, interval: float = 30.0) -> BlockingScheduler:
    """The scheduler with its single tick job."""
    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(
        tick,
        "interval",
        args=[app],
        seconds=interval,
        id=JOB_ID,
        name="send due reminders",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=max(300, int(interval * 10)),
        next_run_time=datetime.now(UTC),
    )
    return scheduler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m navigator.scheduler", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between ticks")
    parser.add_argument("--once", action="store_true", help="run one tick and exit")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="concurrent Twilio requests per worker (default 16)",
    )
    parser.add_argument("--batch", type=int, default=None, help="reminders claimed at a time")
    options = parser.parse_args(argv)

    app = create_app()
    if options.threads:
        app.config["REMINDER_SEND_THREADS"] = options.threads
    if options.batch:
        app.config["REMINDER_BATCH"] = options.batch
    if options.once:
        print(tick(app))
        return
    scheduler = build(app, options.interval)

    def stop(signum, frame):
        # A platform restart sends SIGTERM: let the running tick finish its batch first.
        log.info("worker stopping: finishing the current tick")
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    log.info("worker started: one tick every %s s", options.interval)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("worker stopped")


if __name__ == "__main__":
    main()
