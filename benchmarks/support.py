"""What the benchmarks share: a throwaway database, signed Twilio requests, gunicorn and wrk.

The benchmark folder is not a package; each script puts this folder on ``sys.path`` and
imports from here. Nothing here measures anything by itself.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-auth-token-0123456789abcdef"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"

#: What texts to the navigator say: the menu walked, glossary questions, HELP.
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

WRK_MISSING = """wrk is not installed. It is an optional tool for the benchmarks only:
    sudo apt-get install -y wrk        (Debian, Ubuntu)
    brew install wrk                   (macOS)"""


def create_database(server: str = DEFAULT_SERVER, name: str | None = None):
    """A database on the PostgreSQL ``server``: ``(url, drop, created)``.

    Without ``name`` it is a throwaway one with a random name; a named one is reused when
    it is already there (``created`` False). ``drop()`` removes it, connections and all.
    """
    import sqlalchemy as sa

    url = sa.engine.make_url(server).set(drivername="postgresql+psycopg")
    name = name or f"nav_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        there = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not there:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop, not there


def migrate(database_url: str) -> None:
    """Run the Procfile's release step on ``database_url``: the real migrations, as ``flask db
    upgrade`` does, then ``flask understanding train``. Without the trained model in the cache,
    each web worker of a fresh checkout trains it at start-up, beside the other servers, and
    may miss ``serve``'s deadline (it did, on a clean clone)."""
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    for command in (["db", "upgrade"], ["understanding", "train"]):
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )


def load_average() -> float:
    """The one-minute load average: on a shared machine, print it beside every figure."""
    return round(os.getloadavg()[0], 1)


def cpu_seconds(pids) -> float:
    """User and system CPU time the processes ``pids`` have used so far (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if parent == pid:
                found.append(int(entry))
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def signed(validator, base: str, path: str, params: dict) -> tuple[str, str, str]:
    """One request as Twilio would send it: ``(path, form body, X-Twilio-Signature)``."""
    return path, urlencode(params), validator.compute_signature(base + path, params)


def sms_params(sid: str, phone: str, body: str) -> dict:
    return {
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": phone,
        "To": "+12025550100",
        "Body": body,
        "NumMedia": "0",
    }


def signed_requests(
    base: str, count: int, batch: int = 0, *, kinds: str = "mixed"
) -> list[tuple[str, str, str]]:
    """Signed requests from 1,000 numbers, each with a MessageSid or CallSid of its own
    (each ``batch`` has SIDs of its own).

    ``kinds``: ``mixed`` (70% texts, 30% call steps), ``sms`` or ``voice`` (half call
    greetings, half choices at the main menu).
    """
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TOKEN)
    rng = random.Random(7)
    share = {"mixed": 0.7, "sms": 1.0, "voice": 0.0}[kinds]
    out = []
    for i in range(count):
        phone = f"+1617555{rng.randrange(1000, 2000):04d}"
        sid = f"{batch:02x}{i:030x}"
        if rng.random() < share:
            params = sms_params("SM" + sid, phone, rng.choice(SMS_BODIES))
            out.append(signed(validator, base, "/twilio/sms", params))
        elif rng.random() < 0.5:
            params = {
                "CallSid": "CA" + sid,
                "From": phone,
                "To": "+12025550100",
                "CallStatus": "ringing",
                "Direction": "inbound",
            }
            out.append(signed(validator, base, "/twilio/voice", params))
        else:
            params = {
                "CallSid": "CA" + sid,
                "From": phone,
                "To": "+12025550100",
                "Digits": rng.choice("234"),
            }
            path = "/twilio/voice/choose?node=main&miss=0"
            out.append(signed(validator, base, path, params))
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
    """Start ``app_spec`` under gunicorn (its own process group) and wait until it answers."""
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
            return process  # a floor app has no /healthz: a 404 means it is up
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start: " + process.stderr.read().decode()[-2000:])


def stop(process) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=20)


def require_wrk() -> None:
    """Stop with how to install wrk when it is missing (scripts/setup does not install it)."""
    if shutil.which("wrk") is None:
        raise SystemExit(WRK_MISSING)


def run_wrk(port: int, script: Path, seconds: int, connections: int, *options: str) -> dict:
    """Run wrk (2 threads) with ``script``; its figures, and its whole output as ``text``."""
    require_wrk()
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
