"""Load the SMS and voice webhooks under gunicorn, beside a floor measured in the same run.

The floor is a minimal Flask route returning fixed TwiML, served by the same gunicorn
settings on the same machine. The navigator is loaded with signed, realistic requests:
texts that walk the menu, ask glossary questions, ask for HELP (each with a fresh
MessageSid, as Twilio sends them), and calls that answer the greeting and choose topics,
from a thousand different numbers, so every request checks a signature and reads and
writes database state.

Usage: .venv/bin/python benchmarks/webhooks_bench.py [--seconds 20] [--connections 32]
Needs wrk (Debian's package) and, by default, PostgreSQL at 127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN = "bench-auth-token-0123456789abcdef"
SMS_BODIES = [
    "MENU",
    "2",
    "1",
    "3",
    "what is HER2?",
    "HELP",
    "BACK",
    "what is a biopsy",
    "MORE",
    "4",
    "que es una biopsia",
    "bone scan?",
]
FLOOR_APP = """
import os
from flask import Flask, Response
app = Flask(__name__)
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Hello</Message></Response>'
if os.environ.get("FLOOR_WITH_INSERT"):
    # A second floor: the same route plus the least a webhook that keeps what it was sent
    # can do, one INSERT through SQLAlchemy Core, committed the way the navigator commits
    # its plain turns (autocommit, synchronous_commit=off).
    import sqlalchemy as sa
    engine = sa.create_engine(os.environ["DATABASE_URL"], isolation_level="AUTOCOMMIT",
                              connect_args={"options": "-c synchronous_commit=off"})
    INSERT = sa.text("INSERT INTO floor_log (body) VALUES (:body)")
@app.post("/twilio/sms")
@app.post("/twilio/voice")
@app.post("/twilio/voice/choose")
def fixed():
    if os.environ.get("FLOOR_WITH_INSERT"):
        with engine.connect() as conn:
            conn.execute(INSERT, {"body": "x"})
    return Response(TWIML, mimetype="text/xml")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def signed_requests(base: str, count: int, batch: int = 0) -> list[tuple[str, str, str]]:
    """(path, body, signature) triples: 70% texts, 30% call steps. Each ``batch`` has SIDs
    of its own."""
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TOKEN)
    rng = random.Random(7)
    out = []
    for i in range(count):
        phone = f"+1617555{rng.randrange(1000, 2000):04d}"
        if rng.random() < 0.7:
            path = "/twilio/sms"
            params = {
                "MessageSid": f"SM{batch:02x}{i:030x}",
                "AccountSid": "AC" + "0" * 32,
                "From": phone,
                "To": "+12025550100",
                "Body": rng.choice(SMS_BODIES),
                "NumMedia": "0",
            }
        elif rng.random() < 0.5:
            path = "/twilio/voice"
            params = {
                "CallSid": f"CA{batch:02x}{i:030x}",
                "From": phone,
                "To": "+12025550100",
                "CallStatus": "ringing",
                "Direction": "inbound",
            }
        else:
            path = "/twilio/voice/choose?node=main&miss=0"
            params = {
                "CallSid": f"CA{batch:02x}{i:030x}",
                "From": phone,
                "To": "+12025550100",
                "Digits": rng.choice("234"),
            }
        signature = validator.compute_signature(base + path, params)
        out.append((path, urlencode(params), signature))
    return out


def lua_script(requests: list[tuple[str, str, str]], path: Path) -> None:
    """A wrk script whose threads each read the signed requests from a data file beside it.

    (Lua refuses a chunk with more than 65,536 constants, so the requests cannot be inlined.)
    """
    data = path.with_suffix(".tsv")
    data.write_text("".join(f"{url}\t{signature}\t{body}\n" for url, body, signature in requests))
    path.write_text(f"""
local reqs = {{}}
local i = 0
statuses = {{}}
init = function(args)
  for line in io.lines({json.dumps(str(data))}) do
    local url, signature, body = line:match("([^\t]*)\t([^\t]*)\t(.*)")
    reqs[#reqs + 1] = wrk.format("POST", url, {{["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Twilio-Signature"] = signature}}, body)
  end
  i = math.random(#reqs)
end
request = function() i = i + 1; return reqs[(i % #reqs) + 1] end
response = function(status) statuses[status] = (statuses[status] or 0) + 1 end
local threads = {{}}
setup = function(thread) table.insert(threads, thread) end
done = function()
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do io.write("status ", k, " ", v, "\\n") end
  end
end
""")


def serve(app_spec: str, port: int, env: dict, workers: int, threads: int, cwd: Path):
    command = [
        str(ROOT / ".venv/bin/gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--log-level",
        "warning",
        app_spec,
    ]
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except urllib.error.HTTPError:
            return process  # the floor app has no /healthz: a 404 means it is up
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start: " + process.stderr.read().decode()[-2000:])


def stop(process) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=20)


def run_wrk(port: int, script: Path, seconds: int, connections: int, *options: str) -> dict:
    """Run wrk (2 threads) with ``script``; its figures, and its whole output as ``text``."""
    result = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            *options,
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    text = result.stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)", text, re.MULTILINE)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    statuses: dict[str, int] = {}
    for code, count in re.findall(r"^status (\d+) (\d+)$", text, re.MULTILINE):
        statuses[code] = statuses.get(code, 0) + int(count)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "errors": "Socket errors" in text,
        "statuses": statuses,
        "text": text,
    }


def make_database(server: str, env: dict, work: Path):
    """A migrated database of the benchmark's own (on ``server``, or SQLite in ``work``);
    sets ``env["DATABASE_URL"]`` and returns a function that drops it (or None)."""
    drop = None
    if server.startswith("postgres"):
        import sqlalchemy as sa

        url = sa.engine.make_url(server).set(drivername="postgresql+psycopg")
        name = f"navbench_{os.getpid()}"
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        env["DATABASE_URL"] = url.set(database=name).render_as_string(hide_password=False)

        def drop():
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        env["DATABASE_URL"] = "sqlite:///" + str(work / "bench.sqlite3")
    subprocess.run(
        [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
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
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="a server URL; the benchmark makes its own database there",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="navbench-"))
    env = {
        **os.environ,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "PROGRAM_NAME": "Hope Clinic Navigator",
        "CARE_TEAM_PHONE": "+16175550100",
        "LOG_LEVEL": "WARNING",
    }
    drop = make_database(args.database, env, work)
    (work / "floor.py").write_text(FLOOR_APP)

    port_floor, port_app = free_port(), free_port()
    base = f"http://127.0.0.1:{port_app}"
    script = work / "requests.lua"
    lua_script(signed_requests(base, 60000), script)
    floor_script = work / "floor.lua"
    lua_script(signed_requests(f"http://127.0.0.1:{port_floor}", 2000), floor_script)

    results = {}
    try:
        floor = serve(
            "floor:app",
            port_floor,
            {**env, "PYTHONPATH": str(work)},
            args.workers,
            args.threads,
            work,
        )
        try:
            run_wrk(port_floor, floor_script, 3, args.connections)  # warm up
            results["floor"] = run_wrk(port_floor, floor_script, args.seconds, args.connections)
        finally:
            stop(floor)
        if env["DATABASE_URL"].startswith("postgresql"):
            import sqlalchemy as sa

            with sa.create_engine(env["DATABASE_URL"]).begin() as conn:
                conn.execute(sa.text("CREATE TABLE floor_log (id serial primary key, body text)"))
            floor_db = serve(
                "floor:app",
                port_floor,
                {**env, "PYTHONPATH": str(work), "FLOOR_WITH_INSERT": "1"},
                args.workers,
                args.threads,
                work,
            )
            try:
                run_wrk(port_floor, floor_script, 3, args.connections)
                results["floor_with_insert"] = run_wrk(
                    port_floor, floor_script, args.seconds, args.connections
                )
            finally:
                stop(floor_db)
        app = serve("wsgi:app", port_app, env, args.workers, args.threads, ROOT)
        try:
            run_wrk(port_app, script, 3, args.connections)
            results["navigator"] = run_wrk(port_app, script, args.seconds, args.connections)
        finally:
            stop(app)
    finally:
        if drop:
            drop()
    results["ratio"] = results["navigator"]["rps"] / results["floor"]["rps"]
    if "floor_with_insert" in results:
        results["ratio_floor_with_insert"] = (
            results["floor_with_insert"]["rps"] / results["floor"]["rps"]
        )
    results["settings"] = {
        "connections": args.connections,
        "workers": args.workers,
        "threads": args.threads,
        "seconds": args.seconds,
        "database": args.database.split("://")[0],
        "cores": os.cpu_count(),
    }
    for name in ("floor", "floor_with_insert", "navigator"):
        results.get(name, {}).pop("text", None)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
