"""Throughput of the HL7 listener: SIU messages per second, each answered with its ACK.

The listener runs as its own process, exactly as the Procfile's ``hl7:`` line starts it,
on a throwaway PostgreSQL database (or SQLite with ``--sqlite``) migrated and seeded
with the site's codes and a few hundred enrolled patients. Messages are Epic-style
v2.5.1 SIUs: bookings (each plans its reminders), then reschedules of half of them. They
are sent with python-hl7's MLLP client the way an interface engine sends an ordered
queue: one connection, the next message only after the ACK of the one before. With
``--connections N`` that many such queues run at once, and with ``--processes P`` that
many listener processes share the port (SO_REUSEPORT), as ``hl7:`` scaled to P would.

Beside the figure, from the same run, so that it can be judged on a shared machine:
- the machine's load average;
- two floors: the same sender against a bare MLLP server that answers every frame at once
  (the most the transport and the sender allow), and one INSERT and one commit a message
  on one connection (the most a feed that commits each message before its ACK could do);
- the CPU each message cost the listener processes and their PostgreSQL backends (read
  from /proc, so only for a local server), and the rate those costs allow on two idle
  cores: what the figure would be without the other work sharing the machine.

Usage: .venv/bin/python benchmarks/hl7_feed_bench.py [--messages 2000] [--connections 1]
       [--processes 1] [--sqlite] [--threads N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from hl7.mllp import open_hl7_connection, start_hl7_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))


def _database(sqlite: bool, folder: str):
    if sqlite:
        return f"sqlite:///{folder}/bench.sqlite3", lambda: None
    from support import create_database

    url, drop, _ = create_database()
    return url, drop


def _prepare(url: str, patients: int) -> None:
    from feed_support import seed_site
    from flask_migrate import upgrade

    from navigator.app import create_app
    from navigator.extensions import db
    from navigator.models import Patient

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        seed_site()
        for number in range(patients):
            db.session.add(
                Patient(
                    name=f"Bench {number}",
                    phone=f"+1617555{number:04d}",
                    timezone="America/New_York",
                    date_of_birth=date(1965, 4, 12),
                    mrn=f"B{number:07d}",
                    mrn_authority="MAINHOSP",
                    quiet_start="21:00",
                    quiet_end="08:00",
                )
            )
        db.session.commit()
        db.engine.dispose()


def _messages(count: int, patients: int) -> list[bytes]:
    from feed_support import siu

    booked = count * 2 // 3
    made = [
        siu("S12", f"B{n}", filler=f"F{n}", mrn=f"B{n % patients:07d}", start="20270115093000")
        for n in range(booked)
    ]
    made += [
        siu(
            "S13",
            f"R{n}",
            filler=f"F{n}",
            mrn=f"B{n % patients:07d}",
            start="20270118140000",
            sent="20261205093000-0500",
        )
        for n in range(count - booked)
    ]
    return made


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _queue(port: int, messages: list[bytes]) -> list[str]:
    reader, writer = await open_hl7_connection("127.0.0.1", port)
    codes = []
    for raw in messages:
        writer.writeblock(raw)
        await writer.drain()
        ack = await reader.readblock()
        codes.append(ack.split(b"MSA|")[1][:2].decode())
    writer.close()
    return codes


async def _send_all(port: int, messages: list[bytes], connections: int) -> list[str]:
    # Bookings before their reschedules within each queue, as a sender keeps order.
    queues = [messages[i::connections] for i in range(connections)]
    results = await asyncio.gather(*(_queue(port, q) for q in queues))
    return [code for codes in results for code in codes]


TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far; 0 when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def _backends(url: str) -> dict[int, float]:
    """CPU so far of each PostgreSQL backend serving the bench database (local server)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        me = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        pids = conn.execute(
            sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).scalars()
        found = {pid: _cpu_seconds(pid) for pid in pids if pid != me}
    engine.dispose()
    return found


async def _echo(reader, writer) -> None:
    """A bare MLLP server: every frame answered with a fixed ACK at once."""
    ack = b"MSH|^~\\&|NAVIGATOR||EPIC||20261205||ACK|1|P|2.5.1\rMSA|AA|1"
    try:
        while True:
            await reader.readuntil(b"\x1c\x0d")
            writer.writeblock(ack)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def _echo_floor(messages: list[bytes], connections: int) -> float:
    """Messages per second through the same sender to a bare MLLP server (in this process,
    on the sender's own event loop: a floor, not a second machine)."""

    async def run() -> float:
        server = await start_hl7_server(_echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        started = time.perf_counter()
        await _send_all(port, messages, connections)
        elapsed = time.perf_counter() - started
        server.close()
        await server.wait_closed()
        return len(messages) / elapsed

    return asyncio.run(run())


def _commit_floor(url: str, messages: list[bytes]) -> float:
    """Messages per second when each is one INSERT of its bytes and one commit, in turn,
    on one connection: the database's own floor for a commit before every ACK."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        conn.execute(sa.text("CREATE TABLE bench_floor (id serial PRIMARY KEY, raw bytea)"))
        conn.commit()
        insert = sa.text("INSERT INTO bench_floor (raw) VALUES (:raw)")
        started = time.perf_counter()
        for raw in messages:
            conn.execute(insert, {"raw": raw})
            conn.commit()
        elapsed = time.perf_counter() - started
    engine.dispose()
    return len(messages) / elapsed


def _wait_for(port: int, process) -> None:
    for _ in range(1200):
        if process.poll() is not None:
            raise SystemExit("the listener stopped: " + process.stderr.read().decode())
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the listener did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--patients", type=int, default=300)
    parser.add_argument("--processes", type=int, default=1, help="listener processes")
    parser.add_argument("--threads", type=int, default=0, help="HL7_DB_THREADS (default: its)")
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args()
    messages = _messages(args.messages, args.patients)
    with tempfile.TemporaryDirectory() as folder:
        url, drop = _database(args.sqlite, folder)
        try:
            _prepare(url, args.patients)
            port = _free_port()
            env = {
                **os.environ,
                "DATABASE_URL": url,
                "HL7_PORT": str(port),
                "HL7_MRN_AUTHORITY": "MAINHOSP",
                "LOG_LEVEL": "WARNING",
            }
            if args.threads:
                env["HL7_DB_THREADS"] = str(args.threads)
            listeners = [
                subprocess.Popen(
                    [sys.executable, "-m", "navigator.feed"],
                    cwd=ROOT,
                    env=env,
                    stderr=subprocess.PIPE,
                )
                for _ in range(args.processes)
            ]
            try:
                for listener in listeners:
                    _wait_for(port, listener)
                backends = {} if args.sqlite else _backends(url)
                cpu = sum(_cpu_seconds(listener.pid) for listener in listeners)
                started = time.perf_counter()
                codes = asyncio.run(_send_all(port, messages, args.connections))
                elapsed = time.perf_counter() - started
                cpu = sum(_cpu_seconds(listener.pid) for listener in listeners) - cpu
                after = {} if args.sqlite else _backends(url)
                database_cpu = sum(t - backends.get(pid, 0.0) for pid, t in after.items())
                load = os.getloadavg()[0]
            finally:
                for listener in listeners:
                    listener.terminate()
                    listener.wait(10)
            echo = _echo_floor(messages, args.connections)
            commit = None if args.sqlite else _commit_floor(url, messages)
        finally:
            drop()
    database = "SQLite" if args.sqlite else "PostgreSQL"
    count = len(codes)
    print(
        f"{count} SIU messages on {args.connections} connection(s) to "
        f"{args.processes} listener process(es), {database}: "
        f"{count / elapsed:.0f} messages/s with ACKs "
        f"({elapsed * 1000 / count:.1f} ms each); ACKs: "
        + ", ".join(f"{c} {codes.count(c)}" for c in sorted(set(codes)))
        + f"; load average {load:.1f} on {os.cpu_count()} cores"
    )
    floors = f"floors in this run: bare MLLP answers {echo:.0f}/s"
    if commit is not None:
        floors += f", one INSERT + commit a message on one connection {commit:.0f}/s"
    print(floors)
    listener_ms = cpu * 1000 / count
    line = f"CPU per message: listener {listener_ms:.1f} ms"
    if not args.sqlite:
        database_ms = database_cpu * 1000 / count
        ceiling = min(2000 / (listener_ms + database_ms), args.processes * 1000 / listener_ms)
        line += (
            f", PostgreSQL {database_ms:.1f} ms; on two idle cores that allows about "
            f"{ceiling:.0f} messages/s (the sender's own CPU not counted)"
        )
    print(line)


if __name__ == "__main__":
    main()
