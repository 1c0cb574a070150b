"""Builders for Epic-style SIU messages, the site's mappings, and a real listener to send to.

The listener is the real one (python-hl7's asyncio MLLP server) on 127.0.0.1 and a free
port, in a thread of its own with its own event loop; tests talk to it over TCP with
python-hl7's ``open_hl7_connection`` or the ``mllp_send`` program.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl as ssl_module
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import hl7
from hl7.mllp import open_hl7_connection

from navigator.extensions import db
from navigator.feed.listener import Listener
from navigator.models import Patient, ServiceCode, SiteLocation

MRN = "E1234567"
AUTHORITY = "MAINHOSP"
DOB = date(1965, 4, 12)
PATIENT_NAME = "Rosa Quintana"
PATIENT_PHONE = "+16175550143"


def siu(
    trigger: str = "S12",
    control: str = "MSG0001",
    *,
    version: str = "2.5.1",
    filler: str = "FL7001",
    placer: str = "PL7001",
    start: str = "20270115093000-0500",
    service: str = "CTCAP",
    location: str = "RAD1",
    mrn: str = MRN,
    authority: str = AUTHORITY,
    dob: str = "19650412",
    sent: str = "20261204093000-0500",
    status: str = "",
    accept_ack: str = "",
    start_in: str = "",
    service_in: str = "ais",
    location_in: str = "ail",
) -> bytes:
    """An SIU message as Epic sends one: v2.5.1 with TQ1 and AIS, or v2.3 with SCH-11.

    ``start_in`` names the one field that carries the start ("tq1", "sch", "ais", "ail";
    empty: TQ1-7 or SCH-11.4 by version, and AIS-4 too, as Epic sends it);
    ``service_in`` where the service code is ("ais": AIS-3 and SCH-8, "sch8", "sch7");
    ``location_in`` where the location is ("ail": AIL-3, "pv1": PV1-3).
    """
    if not start_in:
        start_in = "sch" if version in ("2.3", "2.3.1", "2.4") else "tq1"
        ais_start = start
    else:
        ais_start = start if start_in == "ais" else ""
    code = f"{service}^CT chest abdomen pelvis"
    sch = ["SCH", placer, filler] + [""] * 23
    sch[8] = code if service_in in ("ais", "sch8") else ""
    sch[7] = code if service_in == "sch7" else ""
    if start_in == "sch":
        sch[11] = f"^^^{start}"
    sch[25] = status
    segments = [
        (
            f"MSH|^~\\&|EPIC|{AUTHORITY}|NAVIGATOR|NAV|{sent}||SIU^{trigger}^SIU_{trigger}"
            f"|{control}|P|{version}|||{accept_ack}"
        ),
        "|".join(sch),
    ]
    if start_in == "tq1":
        segments.append(f"TQ1|1||||||{start}")
    segments.append(
        f"PID|1||{mrn}^^^{authority}^MR~555-44-3333^^^SSA^SS||Quintana^Rosa||{dob}|F|||"
        "1 Main St^^Boston^MA^02110||^PRN^CP^^1^617^5550199||SPA"
    )
    if location_in == "pv1":
        segments.append(f"PV1|1|O|{location}^^^{AUTHORITY}")
    segments += [
        "RGS|1",
        f"AIS|1||{code if service_in == 'ais' else ''}|{ais_start}",
        f"AIL|1||{location if location_in == 'ail' else ''}^^^{AUTHORITY}"
        + (f"|||{start}" if start_in == "ail" else ""),
    ]
    return "\r".join(segments).encode()


def seed_site(prep: str | None = "Drink only water for 4 hours before.") -> None:
    """The site's mappings: one service code and one location in New York's zone."""
    db.session.add(ServiceCode(code="CTCAP", kind="ct", description="CT chest/abdomen/pelvis"))
    db.session.add(
        SiteLocation(
            code="RAD1",
            address="Main Hospital Radiology, 2nd floor",
            timezone="America/New_York",
            prep_note=prep,
        )
    )
    db.session.commit()


def enroll_patient(**changes) -> Patient:
    values = {
        "name": PATIENT_NAME,
        "phone": PATIENT_PHONE,
        "timezone": "America/New_York",
        "date_of_birth": DOB,
        "mrn": MRN,
        "mrn_authority": AUTHORITY,
        "quiet_start": "21:00",
        "quiet_end": "08:00",
    }
    patient = Patient(**{**values, **changes})
    db.session.add(patient)
    db.session.commit()
    return patient


class RunningListener:
    """The listener in a background thread; ``port`` is where it listens."""

    def __init__(self, app):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.listener = Listener(app)
        self.server = asyncio.run_coroutine_threadsafe(
            self.listener.start("127.0.0.1", 0), self.loop
        ).result(10)
        self.port = self.server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shut(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.listener.close()
        self.loop.close()

    async def _shut(self) -> None:
        self.server.close()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        await self.server.wait_closed()


async def _exchange(port: int, messages, ssl=None) -> list[hl7.Message | None]:
    reader, writer = await open_hl7_connection("127.0.0.1", port, ssl=ssl, encoding="utf-8")
    acks = []
    try:
        for raw in messages:
            writer.writeblock(raw)
            await writer.drain()
            try:
                acks.append(hl7.parse((await asyncio.wait_for(reader.readblock(), 10)).decode()))
            except (asyncio.IncompleteReadError, ConnectionError, ssl_module.SSLError):
                acks.append(None)  # the listener closed the connection without an ACK
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):  # ssl.SSLError is an OSError
            pass  # the listener closed first (as it does without an ACK)
    return acks


def send(port: int, *messages: bytes, ssl=None) -> list[hl7.Message | None]:
    """Send each message over one MLLP connection and return each ACK (None: none came).

    On a thread of its own: Playwright's browser fixture keeps an event loop running in
    the main thread when browser tests ran first in the session.
    """
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(lambda: asyncio.run(_exchange(port, messages, ssl=ssl))).result()


def mllp_send_program() -> str:
    """python-hl7's ``mllp_send``: on the PATH, or beside this Python."""
    return shutil.which("mllp_send") or str(Path(sys.executable).with_name("mllp_send"))


def send_with_mllp_send(port: int, *messages: bytes) -> list[hl7.Message | None]:
    """Send each message with the ``mllp_send`` program (one connection, in order) and
    return each ACK it printed (None: none came)."""
    with tempfile.TemporaryDirectory() as folder:
        feed = Path(folder) / "feed.hl7"
        feed.write_bytes(b"".join(b"\x0b" + raw + b"\x1c\x0d" for raw in messages))
        done = subprocess.run(
            [mllp_send_program(), "--port", str(port), "--file", str(feed), "127.0.0.1"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    printed = done.stdout.split(b"\n")[: len(messages)]
    acks = [line.strip(b"\x0b\x1c\x0d") for line in printed]
    return [hl7.parse(ack.decode()) if ack else None for ack in acks]


def ack_code(ack: hl7.Message) -> str:
    return str(ack["MSA.F1"])
