"""Throughput of the HL7 listener: SIU messages per second, each answered with its ACK.

The listener runs as its own process, exactly as the Procfile's ``hl7:`` line starts it,
on a throwaway PostgreSQL database (or SQLite with ``--sqlite``) migrated and seeded
with the site's codes and a few hundred enrolled patients. Messages are Epic-style
v2.5.1 SIUs: bookings (each plans its reminders), then reschedules of half of them. They
are sent with python-hl7's MLLP client the way an interface engine sends an ordered
queue: one connection, the next message only after the ACK of the one before. With
``--connections N`` that many such queues run at once, and with ``--processes P`` that
many listener processes share the port (SO_REUSEPORT), as ``hl7:`` scaled to P would.
The machine's load average is printed beside the figure: on a shared machine it matters.

Usage: .venv/bin/python benchmarks/hl7_feed_bench.py [--messages 2000] [--connections 1]
       [--processes 1] [--sqlite]
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

    from navigator import create_app
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
    from hl7.mllp import open_hl7_connection

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
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args()
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
            listeners = [
                subprocess.Popen(
                    [sys.executable, "-m", "navigator.interface_listener"],
                    cwd=ROOT,
                    env=env,
                    stderr=subprocess.PIPE,
                )
                for _ in range(args.processes)
            ]
            try:
                for listener in listeners:
                    _wait_for(port, listener)
                messages = _messages(args.messages, args.patients)
                started = time.perf_counter()
                codes = asyncio.run(_send_all(port, messages, args.connections))
                elapsed = time.perf_counter() - started
            finally:
                for listener in listeners:
                    listener.terminate()
                    listener.wait(10)
        finally:
            drop()
    database = "SQLite" if args.sqlite else "PostgreSQL"
    load = os.getloadavg()[0]
    print(
        f"{len(codes)} SIU messages on {args.connections} connection(s) to "
        f"{args.processes} listener process(es), {database}: "
        f"{len(codes) / elapsed:.0f} messages/s with ACKs "
        f"({elapsed * 1000 / len(codes):.1f} ms each); ACKs: "
        + ", ".join(f"{c} {codes.count(c)}" for c in sorted(set(codes)))
        + f"; load average {load:.1f} on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
