"""The SMS and voice webhooks under gunicorn, against a stateful floor measured in the same run.

Three servers run side by side with the same gunicorn settings (benchmarks/floors.py):

- ``fixed``: fixed TwiML and nothing else (Flask and gunicorn alone, for reference);
- ``stateful``: the SDK's signature check, the text or call step stored and the caller's
  state read in one durable round trip to PostgreSQL, an answer built with the SDK's TwiML;
- ``navigator``: the real app (wsgi:app) on a migrated database of its own.

Each is loaded with signed, realistic requests, each with a MessageSid or CallSid of its
own, from a thousand numbers: texts that walk the menu, ask glossary questions and ask for
HELP; calls that are greeted and choose topics. The SMS and voice webhooks are loaded
separately. Rounds interleave the servers (fixed, stateful, navigator; SMS then voice),
so a change in the machine's load falls on all three alike; the figures are the medians
of the rounds. The targets (issue 8): on both webhooks the navigator answers at least
0.8x the stateful floor's requests per second, with a p99 at most 1.25x the floor's.

Each run also gives the CPU time a request cost the server's gunicorn workers and its own
PostgreSQL backends (found by ``application_name``): unlike requests per second, it barely
moves with the load other work puts on a shared machine.

Usage: .venv/bin/python benchmarks/webhooks_bench.py [--seconds 10] [--rounds 3]
Needs wrk (it says how to install it) and PostgreSQL at 127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from floors import SCHEMA
from support import (  # the benchmark folder is not a package
    DEFAULT_SERVER,
    ROOT,
    TOKEN,
    children,
    cpu_seconds,
    create_database,
    free_port,
    load_average,
    lua_script,
    migrate,
    require_wrk,
    run_wrk,
    serve,
    signed_requests,
    stop,
)

SERVERS = ("fixed", "stateful", "navigator")
WEBHOOKS = ("sms", "voice")
TARGET_THROUGHPUT, TARGET_P99 = 0.8, 1.25


def environment(database_url: str, work: Path) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "PROGRAM_NAME": "Hope Clinic Navigator",
        "CARE_TEAM_PHONE": "+16175550100",
        "LOG_LEVEL": "WARNING",
        "SPOOL_DIR": str(work / "spool"),
        "PYTHONPATH": str(ROOT / "benchmarks"),
    }


def prepare_floor(database_url: str) -> None:
    """The stateful floor's tables, beside the navigator's in the same database."""
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        for statement in SCHEMA:
            conn.execute(sa.text(statement))
    engine.dispose()


def backends(admin, name: str) -> list[int]:
    """The PostgreSQL backend processes of the connections named ``name``."""
    with admin.connect() as conn:
        query = sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :name")
        return list(conn.scalars(query, {"name": name}))


def scripts(ports: dict[str, int], work: Path, count: int) -> dict[tuple[str, str], Path]:
    """A wrk script per server and webhook (the signature covers the URL, so the port)."""
    made = {}
    for server, port in ports.items():
        for webhook in WEBHOOKS:
            path = work / f"{server}-{webhook}.lua"
            base = f"http://127.0.0.1:{port}"
            lua_script(signed_requests(base, count, kinds=webhook), path)
            made[server, webhook] = path
    return made


def measured_run(port: int, script: Path, seconds: int, connections: int, server, backends):
    """One wrk run, with the CPU per request of the server's workers and its backends."""
    workers, sessions = children(server.pid), backends()
    before = cpu_seconds(workers), cpu_seconds(sessions)
    run = run_wrk(port, script, seconds, connections)
    after = cpu_seconds(workers), cpu_seconds(sessions)
    answered = max(1, round(run["rps"] * seconds))
    run["cpu_app_ms"] = round(1000 * (after[0] - before[0]) / answered, 3)
    run["cpu_db_ms"] = round(1000 * (after[1] - before[1]) / answered, 3)
    return run


def median_figures(runs: list[dict]) -> dict:
    return {
        "cpu_ms": round(statistics.median(r["cpu_app_ms"] + r["cpu_db_ms"] for r in runs), 3),
        "cpu_app_ms": round(statistics.median(r["cpu_app_ms"] for r in runs), 3),
        "cpu_db_ms": round(statistics.median(r["cpu_db_ms"] for r in runs), 3),
        "rps": round(statistics.median(r["rps"] for r in runs), 1),
        "p50_ms": round(statistics.median(r["p50_ms"] for r in runs), 2),
        "p99_ms": round(statistics.median(r["p99_ms"] for r in runs), 2),
        "not_200": sum(n for r in runs for code, n in r["statuses"].items() if code != "200"),
    }


def summary(medians: dict) -> dict:
    """Per webhook: the navigator against the stateful floor (and the floors' own ratio)."""
    out = {}
    for webhook in WEBHOOKS:
        fixed, floor, nav = (medians[server][webhook] for server in SERVERS)
        throughput = nav["rps"] / floor["rps"]
        p99 = nav["p99_ms"] / floor["p99_ms"]
        out[webhook] = {
            "throughput_vs_stateful": round(throughput, 2),
            "p99_vs_stateful": round(p99, 2),
            "stateful_vs_fixed": round(floor["rps"] / fixed["rps"], 2),
            "cpu_per_request_ms": {"navigator": nav["cpu_ms"], "stateful": floor["cpu_ms"]},
            "cpu_stateful_over_navigator": round(floor["cpu_ms"] / nav["cpu_ms"], 2),
            "met": throughput >= TARGET_THROUGHPUT and p99 <= TARGET_P99,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="per server, webhook, round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="gunicorn sync workers; the Procfile's default (WEB_CONCURRENCY)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--database",
        default=DEFAULT_SERVER,
        help="a PostgreSQL server URL; the benchmark makes its own database there",
    )
    args = parser.parse_args()
    require_wrk()

    work = Path(tempfile.mkdtemp(prefix="navbench-"))
    database_url, drop, _ = create_database(args.database)
    admin = sa.create_engine(database_url)
    env = environment(database_url, work)
    runs: dict[str, dict[str, list]] = {s: {w: [] for w in WEBHOOKS} for s in SERVERS}
    loads = [load_average()]
    try:
        migrate(database_url)
        prepare_floor(database_url)
        ports = {server: free_port() for server in SERVERS}
        made = scripts(ports, work, 40000)
        specs = {"fixed": "floors:fixed", "stateful": "floors:stateful", "navigator": "wsgi:app"}
        processes = {}
        try:
            for server in SERVERS:
                named = {**env, "PGAPPNAME": f"bench-{server}"}
                processes[server] = serve(
                    specs[server], ports[server], named, args.workers, args.threads, ROOT
                )
            for (server, _webhook), script in made.items():
                run_wrk(ports[server], script, 3, args.connections)  # warm up
            for _ in range(args.rounds):
                for webhook in WEBHOOKS:
                    for server in SERVERS:
                        run = measured_run(
                            ports[server],
                            made[server, webhook],
                            args.seconds,
                            args.connections,
                            processes[server],
                            functools.partial(backends, admin, f"bench-{server}"),
                        )
                        run.pop("text")
                        runs[server][webhook].append(run)
                loads.append(load_average())
        finally:
            for process in processes.values():
                stop(process)
    finally:
        admin.dispose()
        drop()
    medians = {s: {w: median_figures(runs[s][w]) for w in WEBHOOKS} for s in SERVERS}
    result = {
        "navigator_vs_stateful_floor": summary(medians),
        "medians": medians,
        "rounds": {
            s: {w: [(r["rps"], r["p99_ms"]) for r in runs[s][w]] for w in WEBHOOKS} for s in SERVERS
        },
        "load_average": {"before": loads[0], "after_each_round": loads[1:]},
        "settings": {
            "seconds": args.seconds,
            "rounds": args.rounds,
            "connections": args.connections,
            "workers": args.workers,
            "threads": args.threads,
            "cores": os.cpu_count(),
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
