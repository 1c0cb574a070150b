"""Reminder worker benchmark: 10,000 reminders due at once, two worker processes, PostgreSQL.

What it does, in a throwaway database on the PostgreSQL server given by ``--server``:

1. Runs the real migrations, then stores 10,000 reminders due now and 100,000 more due in the
   future (so the workers run against a realistically large table).
2. Starts the fake Twilio REST API (tests/fake_twilio.py) answering every request after
   ``--latency`` seconds (50 ms by default).
3. Starts two real worker processes (``python -m navigator.scheduler --once``) with the send
   rate limit lifted, which hand the reminders to the fake through the official Twilio SDK.
4. Reports the time until all 10,000 were handed over, duplicates and misses (both must be
   0), and each worker's peak resident memory (VmHWM).
5. Then a rate-limited run (two workers sharing ``--rate`` per second): the achieved rate, which must
   be within 5% below the limit and never above it, and the most sends seen in any one second.

Usage (needs PostgreSQL; content from MESSAGES_DIR or messages/)::

    .venv/bin/python benchmarks/reminders_bench.py --server postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import bisect
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

from fake_twilio import FakeTwilio
from support import create_database  # the benchmark folder is not a package

from navigator.models import utcnow

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"


def migrate(database_url: str) -> None:
    from flask_migrate import upgrade

    from navigator.app import create_app
    from navigator.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
    with app.app_context():
        upgrade()
        db.engine.dispose()


def seed(database_url: str, due: int, future: int, first_phone: int = 0) -> list[str]:
    """``due`` reminders due a minute ago, one per patient, plus ``future`` later ones."""
    engine = sa.create_engine(database_url)
    now = utcnow().replace(microsecond=0)
    phones = [f"+1617{first_phone + i:07d}" for i in range(due)]
    meta = sa.MetaData()
    meta.reflect(engine, only=["patients", "contacts", "appointments", "reminders"])
    patients, contacts, appointments, reminders = (
        meta.tables[n] for n in ("patients", "contacts", "appointments", "reminders")
    )
    with engine.begin() as conn:
        ids = (
            conn.execute(
                patients.insert().returning(patients.c.id),
                [
                    {
                        "phone": p,
                        "name": "Bench Patient",
                        "language": "en",
                        "timezone": "UTC",
                        "channel": "sms",
                        "quiet_start": "00:00",
                        "quiet_end": "00:00",
                        "detailed_texts": False,
                        "created_at": now,
                    }
                    for p in phones
                ],
            )
            .scalars()
            .all()
        )
        conn.execute(
            contacts.insert(),
            [
                {
                    "phone": p,
                    "language": "en",
                    "language_chosen": True,
                    "menu_node": "main",
                    "menu_page": 0,
                    "failed_checks": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for p in phones
            ],
        )
        appointment_ids = (
            conn.execute(
                appointments.insert().returning(appointments.c.id),
                [
                    {
                        "patient_id": pid,
                        "kind": "ct",
                        "starts_at": now + timedelta(days=2),
                        "timezone": "UTC",
                        "location": "Mercy Imaging, 200 Main St",
                        "status": "scheduled",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for pid in ids
                ],
            )
            .scalars()
            .all()
        )
        rows = [
            {
                "appointment_id": aid,
                "recipient_phone": phone,
                "role": "patient",
                "channel": "sms",
                "offset": "1d",
                "due_at": now - timedelta(minutes=1),
                "status": "pending",
                "attempts": 0,
                "created_at": now,
            }
            for aid, phone in zip(appointment_ids, phones, strict=True)
        ]
        conn.execute(reminders.insert(), rows)
        for start in range(0, future, 10_000):
            conn.execute(
                reminders.insert(),
                [
                    {
                        "appointment_id": appointment_ids[i % len(appointment_ids)],
                        "recipient_phone": phones[i % len(phones)],
                        "role": "patient",
                        "channel": "sms",
                        "offset": "3d",
                        "due_at": now + timedelta(days=30, seconds=i),
                        "status": "pending",
                        "attempts": 0,
                        "created_at": now,
                    }
                    for i in range(start, min(start + 10_000, future))
                ],
            )
    engine.dispose()
    return phones


def worker_env(database_url: str, fake: FakeTwilio, rate: float) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "b" * 40,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_API_URL": fake.url,
            "TWILIO_PHONE_NUMBER": "+12025550100",
            "PUBLIC_BASE_URL": "https://navigator.example.org",
            "PROGRAM_NAME": "Hope Clinic Navigator",
            "SEND_RATE_PER_SECOND": str(rate),
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_workers(database_url, fake, count, rate, threads, batch, expected) -> dict:
    env = worker_env(database_url, fake, rate)
    started = time.monotonic()
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "navigator.scheduler",
                "--once",
                "--threads",
                str(threads),
                "--batch",
                str(batch),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(count)
    ]
    peaks = [0.0] * count
    handed_over_at = None
    while any(w.poll() is None for w in workers):
        for index, worker in enumerate(workers):
            peak = peak_rss_mb(worker.pid)
            if peak:
                peaks[index] = max(peaks[index], peak)
        if handed_over_at is None and fake.accepted_count >= expected:
            handed_over_at = time.monotonic() - started
        time.sleep(0.02)
    finished = time.monotonic() - started
    for worker in workers:
        errors = worker.stderr.read().decode()
        worker.stderr.close()
        if worker.returncode != 0:
            raise SystemExit(f"a worker failed:\n{errors}")
    if handed_over_at is None:
        handed_over_at = finished if len(fake.accepted()) >= expected else None
    return {"handed_over_s": handed_over_at, "workers_done_s": finished, "peak_rss_mb": peaks}


def check(fake: FakeTwilio, phones: list[str]) -> tuple[int, int]:
    counts = Counter(r.to for r in fake.accepted())
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    misses = sum(1 for p in phones if counts[p] == 0)
    return duplicates, misses


def rate_figures(fake: FakeTwilio) -> tuple[float, int]:
    stamps = sorted(r.at for r in fake.accepted())
    achieved = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    busiest = max(bisect.bisect_left(stamps, t + 1.0) - i for i, t in enumerate(stamps))
    return achieved, busiest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--future", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--rate-count", type=int, default=400)
    options = parser.parse_args()

    database_url, drop, _ = create_database(options.server)
    fake = FakeTwilio(latency=options.latency).start()
    try:
        migrate(database_url)
        t0 = time.monotonic()
        phones = seed(database_url, options.due, options.future)
        print(
            f"stored {options.due:,} due and {options.future:,} future reminders "
            f"in {time.monotonic() - t0:.1f} s"
        )
        result = run_workers(database_url, fake, 2, 0, options.threads, options.batch, options.due)
        duplicates, misses = check(fake, phones)
        print(
            f"two workers, {options.threads} threads each, {options.latency * 1000:.0f} ms "
            f"API latency, no rate limit:"
        )
        print(
            f"  all {options.due:,} handed over in {result['handed_over_s']:.1f} s "
            f"(workers exited after {result['workers_done_s']:.1f} s)"
        )
        print(f"  duplicates {duplicates}, misses {misses}")
        print("  worker peak RSS: " + ", ".join(f"{p:.0f} MB" for p in result["peak_rss_mb"]))

        fake.reset()
        phones = seed(database_url, options.rate_count, 0, first_phone=options.due)
        result = run_workers(
            database_url, fake, 2, options.rate, options.threads, options.batch, options.rate_count
        )
        duplicates, misses = check(fake, phones)
        achieved, busiest = rate_figures(fake)
        print(f"two workers sharing the limit {options.rate:g}/s, {options.rate_count} reminders:")
        print(
            f"  achieved {achieved:.2f}/s ({(achieved / options.rate - 1) * 100:+.1f}% of the "
            f"limit), busiest second {busiest}, duplicates {duplicates}, misses {misses}"
        )
    finally:
        fake.stop()
        drop()


if __name__ == "__main__":
    main()
