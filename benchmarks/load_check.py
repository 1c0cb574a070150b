"""The webhooks held at half their measured maximum for 60 s: 0 errors, 0 texts lost.

First it measures the navigator's maximum (wrk, as many requests as it answers, 15 s),
then it paces wrk at half that rate for ``--seconds`` (60) with signed, realistic requests,
each text with a MessageSid of its own and each call with its own CallSid (70% texts, 30%
call steps, from 1,000 numbers). After the run it counts what the database holds:

- errors: any answer other than 200, and any socket error or timeout;
- lost: texts answered but not stored (by MessageSid), and call greetings answered whose
  call is not on the timeline (by CallSid); the spool (SPOOL_DIR) must be empty too, so
  nothing was merely kept for later. A request written as wrk stops gets no answer wrk
  counts (``unanswered_at_stop``, at most one per connection); Twilio would retry those.

Usage: .venv/bin/python benchmarks/load_check.py [--seconds 60] [--connections 32]
Needs wrk (Debian's package) and, by default, PostgreSQL at 127.0.0.1:5432. Exits 1 when
an error or a lost text was counted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import (  # the benchmark folder is not a package
    DEFAULT_SERVER,
    ROOT,
    TOKEN,
    create_database,
    free_port,
    lua_script,
    migrate,
    require_wrk,
    run_wrk,
    serve,
    signed_requests,
    stop,
)

#: wrk's threads (webhooks_bench runs 2): each takes every other request, none sent twice.
WRK_THREADS = 2


def paced_script(requests: list[tuple[str, str, str]], path: Path, gap_ms: float) -> None:
    """A wrk script that sends each request once, in order, with ``gap_ms`` between the
    requests of a connection, and counts what it sent by kind."""
    data = path.with_suffix(".tsv")
    data.write_text(
        "".join(f"{url}\t{signature}\t{_kind(url)}\t{body}\n" for url, body, signature in requests)
    )
    path.write_text(f"""
local reqs, kinds = {{}}, {{}}
statuses, sent = {{}}, {{sms = 0, greeting = 0, step = 0}}
local n = 0
init = function(args)
  for line in io.lines({json.dumps(str(data))}) do
    local url, signature, kind, body = line:match("([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)\\t(.*)")
    reqs[#reqs + 1] = wrk.format("POST", url, {{["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Twilio-Signature"] = signature}}, body)
    kinds[#kinds + 1] = kind
  end
  n = id
end
delay = function() return {gap_ms:.3f} end
request = function()
  n = n + {WRK_THREADS}
  if n > #reqs then error("ran out of unique requests") end
  sent[kinds[n]] = sent[kinds[n]] + 1
  return reqs[n]
end
response = function(status) statuses[status] = (statuses[status] or 0) + 1 end
local threads, made = {{}}, 0
setup = function(thread)
  thread:set("id", made); made = made + 1
  table.insert(threads, thread)
end
done = function()
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do io.write("status ", k, " ", v, "\\n") end
    for k, v in pairs(t:get("sent")) do io.write("sent ", k, " ", v, "\\n") end
  end
end
""")


def _kind(url: str) -> str:
    return "sms" if url == "/twilio/sms" else "greeting" if url == "/twilio/voice" else "step"


def paced_run(port: int, script: Path, seconds: int, connections: int) -> dict:
    """A paced wrk run; its figures, with what was sent by kind and any socket errors."""
    run = run_wrk(port, script, seconds, connections, "--timeout", "15s")  # Twilio's limit
    text = run.pop("text")
    sent: dict[str, int] = {}
    for kind, count in re.findall(r"^sent (\w+) (\d+)$", text, re.MULTILINE):
        sent[kind] = sent.get(kind, 0) + int(count)
    run["sent"] = sent
    errors = re.search(r"Socket errors:.*", text)
    run["socket_errors"] = errors.group(0) if errors else ""
    return run


def stored(database_url: str, requests: list[tuple[str, str, str]]) -> dict:
    """How many of the texts and call greetings in ``requests`` the database holds."""
    import sqlalchemy as sa

    texts = {parse_qs(b)["MessageSid"][0] for u, b, _ in requests if _kind(u) == "sms"}
    calls = {parse_qs(b)["CallSid"][0] for u, b, _ in requests if _kind(u) == "greeting"}
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT provider_sid, channel FROM messages WHERE direction = 'in'")
        ).all()
    engine.dispose()
    return {
        "texts": sum(1 for sid, channel in rows if channel == "sms" and sid in texts),
        "greetings": sum(1 for sid, channel in rows if channel == "voice" and sid in calls),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (Procfile: 2)")
    parser.add_argument(
        "--database",
        default=DEFAULT_SERVER,
        help="a PostgreSQL server URL; the check makes its own database there",
    )
    args = parser.parse_args()
    require_wrk()

    work = Path(tempfile.mkdtemp(prefix="navload-"))
    env = {
        **os.environ,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "PROGRAM_NAME": "Hope Clinic Navigator",
        "CARE_TEAM_PHONE": "+16175550100",
        "LOG_LEVEL": "WARNING",
        "SPOOL_DIR": str(work / "spool"),
    }
    env["DATABASE_URL"], drop, _ = create_database(args.database)
    migrate(env["DATABASE_URL"])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    flat_out = work / "max.lua"
    lua_script(signed_requests(base, 20000), flat_out)
    result = {}
    try:
        app = serve("wsgi:app", port, env, args.workers, 1, ROOT)
        try:
            run_wrk(port, flat_out, 3, args.connections)  # warm up
            maximum = run_wrk(port, flat_out, 15, args.connections)
            target = maximum["rps"] / 2
            paced = signed_requests(base, int(target * args.seconds * 1.6) + 4000, batch=2)
            # Pace: each connection waits ``gap`` between its requests. One short run
            # measures the latency at that pace, and the gap is set to hit the target.
            gap = args.connections * 1000 / target
            calibrate = work / "calibrate.lua"
            paced_script(
                signed_requests(base, int(target * 8 * 1.6) + 2000, batch=1), calibrate, gap
            )
            trial = paced_run(port, calibrate, 8, args.connections)
            latency = max(0.0, args.connections * 1000 / trial["rps"] - gap)
            gap = max(0.0, args.connections * 1000 / target - latency)
            script = work / "paced.lua"
            paced_script(paced, script, gap)
            run = paced_run(port, script, args.seconds, args.connections)
            time.sleep(2)  # the last answers settle
        finally:
            stop(app)
        held = stored(env["DATABASE_URL"], paced)
    finally:
        drop()
    spooled = sum(1 for _ in (work / "spool").glob("*.jsonl")) if (work / "spool").exists() else 0
    errors = sum(n for code, n in run["statuses"].items() if code != "200")
    # A request wrk wrote just as the run ended gets no answer it counts (at most one per
    # connection): Twilio would retry it. Lost means answered and not stored.
    unanswered = sum(run["sent"].values()) - sum(run["statuses"].values())
    missing = (run["sent"].get("sms", 0) - held["texts"]) + (
        run["sent"].get("greeting", 0) - held["greetings"]
    )
    lost = max(0, missing - unanswered)
    result = {
        "maximum_rps": maximum["rps"],
        "target_rps": round(target, 1),
        "paced_rps": run["rps"],
        "p50_ms": run["p50_ms"],
        "p99_ms": run["p99_ms"],
        "sent": run["sent"],
        "stored": held,
        "errors": errors,
        "socket_errors": run["socket_errors"],
        "unanswered_at_stop": unanswered,
        "lost": lost,
        "spool_files": spooled,
        "settings": {
            "seconds": args.seconds,
            "connections": args.connections,
            "workers": args.workers,
            "database": args.database.split("://")[0],
            "cores": os.cpu_count(),
        },
    }
    print(json.dumps(result, indent=2))
    if errors or lost or run["socket_errors"] or spooled:
        sys.exit(1)


if __name__ == "__main__":
    main()
