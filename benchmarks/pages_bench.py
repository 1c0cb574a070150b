"""Coordinator pages at a large program's size: p95 of the worklist, inbox, patient page,
search and measures, on PostgreSQL, at two sizes to show the time does not grow with the
number of patients.

What it does, for each size (by default 2,000 and then 20,000 patients), in a throwaway
database on the PostgreSQL server given by ``--server``:

1. Runs the real migrations, then fills the tables in bulk with ``INSERT ... SELECT
   generate_series`` (minutes, not hours): per patient a contact, a workup with its nine
   studies, 10 appointments, 100 messages and 10 timeline events; 2.5% of patients with an
   open inbox item, 20% with a barrier. At 20,000 patients that is 200,000 appointments,
   2,000,000 messages and 200,000 events. Then ANALYZE, as autovacuum would.
2. Signs in through the real app (Flask test client, no HTTP server: the figures are the
   app's and the database's time) and requests each page ``--requests`` times: each
   worklist sort and filter on its own line, the patient page for random patients, the
   search with varied words.
3. Prints the fastest, p50, p95 and the slowest request of each page, in milliseconds,
   with the app's CPU time, the time waiting on the database, and the mean CPU of app
   and database backends together (robust to other work on a shared machine), and the
   load average before and after.

With ``--reuse`` the databases are named ``nav_bench_<size>``, filled only the first time
and kept: a later run migrates them to the newest revision and measures again.

Usage::

    .venv/bin/python benchmarks/pages_bench.py --reuse \
        --server postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from support import create_database  # the benchmark folder is not a package

PASSWORD = "benchmark password 0123"


FILL = [
    # Patients: a quarter Spanish-speaking, enrolled over the last 200 days.
    # search_name is the name as navigator.core.name_search.fold makes it.
    """INSERT INTO patients (id, phone, name, search_name, language, timezone, channel,
         quiet_start, quiet_end, detailed_texts, created_at)
       SELECT i, '+1617' || lpad(i::text, 7, '0'), 'Patient ' || lpad(i::text, 6, '0'),
              'patient' || lpad(i::text, 6, '0'),
              CASE WHEN i % 4 = 0 THEN 'es' ELSE 'en' END, 'America/New_York', 'sms',
              '21:00', '08:00', false, now() - (i % 200) * interval '1 day'
         FROM generate_series(1, :n) AS i""",
    """INSERT INTO contacts (phone, language, language_chosen, menu_node, menu_page,
         failed_checks, created_at, updated_at)
       SELECT phone, language, true, 'main', 0, 0, created_at, created_at FROM patients""",
    # Workups at every step; suspected 0-179 days ago; ten coordinators share them.
    """INSERT INTO workups (id, patient_id, suspected_on, owner_id, step, step_since,
         waiting_rule, waiting_since, biopsy_on, results_on, treatment_on, created_at,
         updated_at)
       SELECT i, i, current_date - (i % 180), 1 + i % 10,
              (ARRAY['imaging','biopsy','results','planning','treatment','complete'])[1 + i % 6],
              current_date - (i % 30),
              (ARRAY[NULL,'biopsy_not_booked','results_pending',
                     'planning_not_booked',NULL,NULL])[1 + i % 6],
              CASE WHEN i % 6 IN (1, 2, 3) THEN current_date - (i % 30) END,
              CASE WHEN i % 6 >= 2 THEN current_date - (i % 180) + 5 + i % 20 END,
              CASE WHEN i % 6 >= 3 THEN current_date - (i % 180) + 15 + i % 25 END,
              CASE WHEN i % 6 = 5 THEN current_date - (i % 180) + 30 + i % 30 END,
              now(), now()
         FROM generate_series(1, :n) AS i""",
    """INSERT INTO workup_studies (workup_id, kind, position, status, updated_at)
       SELECT w, (ARRAY['ct','bone-scan','pet-ct','mri','biopsy','receptors','genomic',
                        'planning','treatment'])[k + 1], k,
              CASE WHEN k < 2 THEN 'done' ELSE 'to_order' END, now()
         FROM generate_series(1, :n) AS w, generate_series(0, 8) AS k""",
    # Ten appointments each, from 60 days ago to 60 days ahead.
    """INSERT INTO appointments (patient_id, kind, starts_at, timezone, location, status,
         created_at, updated_at)
       SELECT p, (ARRAY['ct','pet-ct','bone-scan','mri','biopsy','visit'])[1 + (p + k) % 6],
              now() at time zone 'utc' + ((k * 12 + p % 12) - 60) * interval '1 day',
              'America/New_York', 'Main campus, Radiology',
              CASE WHEN k < 5 THEN 'done' WHEN k = 9 THEN 'cancelled' ELSE 'scheduled' END,
              now(), now()
         FROM generate_series(1, :n) AS p, generate_series(0, 9) AS k""",
    # A hundred texts and calls each, over the last 200 days.
    """INSERT INTO messages (direction, channel, phone, patient_id, body, status,
         created_at, transport, content_key)
       SELECT CASE WHEN k % 2 = 0 THEN 'out' ELSE 'in' END,
              CASE WHEN k % 10 = 0 THEN 'voice' ELSE 'sms' END,
              '+1617' || lpad(p::text, 7, '0'), p,
              'Reminder: your appointment is tomorrow at 9:00. Reply C to confirm.',
              CASE WHEN k % 2 = 0 THEN 'delivered' ELSE 'received' END,
              now() at time zone 'utc' - (k * 2) * interval '1 day' - p * interval '1 second',
              CASE WHEN k % 2 = 0 THEN 'twilio' END, 'reminders.sms.1d'
         FROM generate_series(1, :n) AS p, generate_series(0, 99) AS k""",
    """INSERT INTO patient_events (phone, patient_id, kind, channel, created_at)
       SELECT '+1617' || lpad(p::text, 7, '0'), p,
              (ARRAY['confirmed','reschedule_requested','opted_in'])[1 + k % 3], 'sms',
              now() at time zone 'utc' - k * interval '10 days'
         FROM generate_series(1, :n) AS p, generate_series(0, 9) AS k""",
    # Inbox: one patient in 40 has an open item; everyone has a resolved one.
    """INSERT INTO alerts (kind, phone, patient_id, detail, created_at, resolved_at)
       SELECT (ARRAY['red_flag','voicemail','callback','reschedule','delivery_failed'])[1 + p % 5],
              '+1617' || lpad(p::text, 7, '0'), p, '',
              now() at time zone 'utc' - (p % 48) * interval '1 hour',
              CASE WHEN p % 40 <> 0 THEN now() at time zone 'utc' END
         FROM generate_series(1, :n) AS p""",
    """INSERT INTO barriers (patient_id, kind, raised_at)
       SELECT p, (ARRAY['transport','cost','interpreter','caregiving','work','fear','other'])
                 [1 + p % 7], now() at time zone 'utc' - (p % 20) * interval '1 day'
         FROM generate_series(1, :n) AS p WHERE p % 5 = 0""",
    "SELECT setval('patients_id_seq', :n)",
    "SELECT setval('workups_id_seq', :n)",
]


def build(database_url: str, patients: int, fill: bool):
    """The app on ``database_url``, migrated to the newest revision; filled with
    ``patients`` when ``fill``, else checked to hold that many. Returns the app and the
    seconds the filling took (0 when reused)."""
    from flask_migrate import upgrade

    from navigator.accounts import create_coordinator
    from navigator.app import create_app
    from navigator.extensions import db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TESTING": True,
            "SECRET_KEY": "bench-secret-key-0123456789abcdef0123",
            "WTF_CSRF_ENABLED": True,
        }
    )
    loaded = 0.0
    with app.app_context():
        upgrade()  # a reused database gets the migrations added since it was filled
        if fill:
            for i in range(10):
                create_coordinator(f"nurse{i}@clinic.test", PASSWORD, name=f"Nurse {i}")
            db.session.commit()
            started = time.perf_counter()
            for statement in FILL:
                db.session.execute(sa.text(statement), {"n": patients})
            db.session.commit()
            loaded = time.perf_counter() - started
        else:
            found = db.session.scalar(sa.text("SELECT count(*) FROM patients"))
            if found != patients:
                raise SystemExit(f"{database_url}: {found} patients, not {patients}: drop it")
    engine = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
    engine.dispose()
    return app, loaded


TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def measure(app, patients: int, requests: int) -> dict[str, Timings]:
    rng = random.Random(13)
    client = app.test_client()
    token = TOKEN.search(client.get("/sign-in").get_data(as_text=True)).group(1)
    client.post(
        "/sign-in", data={"email": "nurse0@clinic.test", "password": PASSWORD, "csrf_token": token}
    )
    token = TOKEN.search(client.get("/patients").get_data(as_text=True)).group(1)
    worklists = [
        "/worklist",
        "/worklist?sort=in_step&dir=desc",
        "/worklist?sort=suspected&dir=desc",
        "/worklist?sort=patient&page=40",
        "/worklist?overdue=1",
        "/worklist?mine=1&language=es",
        "/worklist?step=results&sort=step",
    ]
    pages = {
        **{
            "worklist" + path.removeprefix("/worklist"): (lambda i, path=path: client.get(path))
            for path in worklists
        },
        "inbox": lambda i: client.get("/inbox"),
        "patient page": lambda i: client.get(f"/patients/{rng.randint(1, patients)}"),
        "search": lambda i: client.post(
            "/patients",
            data={
                "q": rng.choice(["Patient 0012", "555-0143", "atient 01", "617000"]),
                "csrf_token": token,
            },
            follow_redirects=True,  # the results are a GET of the kept search
        ),
        "measures": lambda i: client.get("/measures"),
    }
    timings: dict[str, Timings] = {}
    with app.app_context():
        from navigator.extensions import db

        database = DatabaseClock(db.engine)
        for name, request in pages.items():
            request(0)  # warm the page's templates and the connection pool
            timings[name] = Timings([], [], [])
            server = database.server_cpu()
            for i in range(requests):
                database.spent = 0.0
                started, cpu = time.perf_counter(), time.process_time()
                response = request(i)
                timings[name].wall.append((time.perf_counter() - started) * 1000)
                timings[name].cpu.append((time.process_time() - cpu) * 1000)
                timings[name].database.append(database.spent * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{name}: HTTP {response.status_code}")
            timings[name].server_cpu = (database.server_cpu() - server) * 1000 / requests
        database.stop()
    return timings


@dataclass
class Timings:
    """Per request, in ms: wall time in the app, the app's own CPU time (this process;
    barely moved by other work on the machine), and the wall time spent waiting on the
    database's answers (its planning, executing and sending rows)."""

    wall: list[float]
    cpu: list[float]
    database: list[float]
    #: The database server's CPU time per request, on average (this machine only).
    server_cpu: float = 0.0


class DatabaseClock:
    """Adds up the time every statement of ``engine`` takes, from send to last row read,
    and notes the server processes (backends) that ran them, to read their CPU time."""

    def __init__(self, engine):
        self.engine, self.spent, self.started, self.backends = engine, 0.0, {}, set()
        sa.event.listen(engine, "before_cursor_execute", self.before)
        sa.event.listen(engine, "after_cursor_execute", self.after)

    def before(self, conn, cursor, statement, parameters, context, executemany):
        self.started[id(cursor)] = time.perf_counter()
        self.backends.add(conn.connection.dbapi_connection.info.backend_pid)

    def server_cpu(self) -> float:
        """Seconds of CPU the backends used so far (0 when the server is on another
        machine). In clock ticks (10 ms): meaningful as a mean over many requests."""
        total = 0.0
        for pid in self.backends:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def after(self, conn, cursor, statement, parameters, context, executemany):
        self.spent += time.perf_counter() - self.started.pop(id(cursor), time.perf_counter())

    def stop(self):
        sa.event.remove(self.engine, "before_cursor_execute", self.before)
        sa.event.remove(self.engine, "after_cursor_execute", self.after)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--sizes", default="2000,20000", help="patients, comma-separated")
    parser.add_argument("--requests", type=int, default=100, help="requests per page")
    parser.add_argument("--keep", action="store_true", help="keep the database (to EXPLAIN)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="fill databases named nav_bench_<size> once, keep them and reuse them next time",
    )
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        url, drop, created = create_database(
            args.server, f"nav_bench_{size}" if args.reuse else None
        )
        keep = args.keep or args.reuse
        try:
            app, loaded = build(url, size, fill=created)
            print(
                f"\n{size:,} patients, {size * 10:,} appointments, {size * 100:,} messages, "
                f"{size * 10:,} events: "
                + (f"loaded in {loaded:.0f} s" if created else "reused, already filled")
            )
            before = load()
            timings = measure(app, size, args.requests)
            print(f"load average (1 min): {before} before, {load()} after")
            print(
                f"{'page':<36}{'min':>7}{'p50':>7}{'p95':>7}{'max':>7}"
                f"{'p95 app CPU':>12}{'p95 DB wait':>12}{'mean CPU':>10}"
            )
            for name, t in timings.items():
                print(
                    f"{name:<36}{min(t.wall):>7.1f}{statistics.median(t.wall):>7.1f}"
                    f"{p95(t.wall):>7.1f}{max(t.wall):>7.1f}{p95(t.cpu):>12.1f}"
                    f"{p95(t.database):>12.1f}"
                    f"{statistics.mean(t.cpu) + t.server_cpu:>10.1f}"
                )
            print(
                "ms per request. min/p50/p95/max: wall time in the app (test client, no"
                " network). app CPU: this process. DB wait: time waiting on the database's"
                " answers. mean CPU: app CPU plus the database backends' CPU, on average;"
                " barely moved by other work on the machine."
            )
            with app.app_context():
                from navigator.extensions import db

                db.engine.dispose()
            if keep:
                print(f"kept: {url}")
        finally:
            if not keep:
                drop()


if __name__ == "__main__":
    main()
