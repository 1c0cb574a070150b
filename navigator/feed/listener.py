"""The HL7 listener: its own process, receiving the hospital's scheduling feed over MLLP.

Run it with ``python -m navigator.feed`` (the ``hl7:`` line of the Procfile).
It binds ``HL7_BIND:HL7_PORT`` (127.0.0.1:2575 by default), speaks TLS when
``HL7_TLS_CERT`` and ``HL7_TLS_KEY`` are set (and asks senders for a certificate when
``HL7_TLS_CLIENT_CA`` is), and drops connections from addresses outside
``HL7_ALLOWED_ADDRESSES``. MLLP itself has neither encryption nor authentication.

Transport is python-hl7's asyncio MLLP server. Frames are read as bytes (not with
``readmessage``), so a message that does not decode or parse is still kept and answered.
Database work runs on worker threads, each with its own session, while the event loop
stays free to accept and read. A connection's messages are applied one at a time in the
order they arrive (the next is read only after the last one's ACK). On PostgreSQL
``HL7_DB_THREADS`` messages from different connections are applied at once, so one
message's round trips to the database do not hold up the others; changes to one
appointment are still serialised by its advisory lock. SQLite has one writer: one thread.
A connection that ends mid-message has sent nothing we can acknowledge: nothing is
stored, and the sender resends it. The listener also purges old raw messages once an hour.
The listener's database connections are not checked before each use (see database.py).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from hl7.mllp import start_hl7_server
from sqlalchemy.engine import make_url

from ..extensions import db
from ..logs import failure
from . import intake as feed_intake

log = logging.getLogger(__name__)

END = b"\x1c\x0d"
START = b"\x0b"
#: Bytes one message may take: of a longer one only this much is kept, answered AE.
LIMIT = 1024 * 1024
PURGE_EVERY_SECONDS = 3600


def tls_context(config) -> ssl.SSLContext | None:
    """The server's TLS context from the certificate and key, or None without them."""
    if not config.get("HL7_TLS_CERT"):
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(config["HL7_TLS_CERT"], config["HL7_TLS_KEY"])
    if config.get("HL7_TLS_CLIENT_CA"):
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(config["HL7_TLS_CLIENT_CA"])
    return context


def db_threads(app: Flask) -> int:
    """How many messages the listener applies at once: ``HL7_DB_THREADS`` on PostgreSQL,
    one on SQLite (a single writer, where more threads would only wait on its lock)."""
    if make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() != "postgresql":
        return 1
    return app.config["HL7_DB_THREADS"]


async def _oversized(reader, buffered: int) -> bytes | None:
    """The first ``LIMIT + 1`` bytes of a frame too long to take; the rest is read and
    dropped, so the connection's next message is read as usual. None when the connection
    ended before the frame did (nothing to answer)."""
    try:
        kept = await reader.readexactly(buffered)
        while True:
            try:
                return (kept + await reader.readuntil(END))[: LIMIT + 1]
            except asyncio.LimitOverrunError as exc:
                kept = (kept + await reader.readexactly(exc.consumed))[: LIMIT + 1]
    except asyncio.IncompleteReadError:
        return None


class Listener:
    """One MLLP server bound to one app; ``start`` returns the asyncio server."""

    def __init__(self, app: Flask):
        self.app = app
        self.threads = db_threads(app)
        # Each thread has one app context and one session for its whole life: a message
        # costs no context push.
        self.worker = ThreadPoolExecutor(
            max_workers=self.threads, thread_name_prefix="hl7-db", initializer=self._enter
        )
        self.allowed = [
            ipaddress.ip_network(net, strict=False) for net in app.config["HL7_ALLOWED_ADDRESSES"]
        ]

    async def start(self, host: str | None = None, port: int | None = None):
        config = self.app.config
        return await start_hl7_server(
            self.connected,
            host if host is not None else config["HL7_BIND"],
            port if port is not None else config["HL7_PORT"],
            limit=LIMIT,
            ssl=tls_context(config),
            # Several listener processes may share the port (PostgreSQL only: changes to
            # one appointment are serialised across them by an advisory lock); the kernel
            # spreads the senders' connections between them.
            reuse_port=hasattr(socket, "SO_REUSEPORT"),
        )

    def _allowed(self, peer) -> bool:
        if not self.allowed:
            return True
        try:
            address = ipaddress.ip_address(peer[0])
        except (TypeError, ValueError, IndexError):
            return False
        return any(address in net for net in self.allowed)

    async def connected(self, reader, writer) -> None:
        """Read frames until the sender closes; answer each after it is kept and applied."""
        peer = writer.get_extra_info("peername")
        if not self._allowed(peer):
            log.warning("feed: refused a connection from an address not allowed")
            writer.close()
            return
        try:
            while True:
                too_long = False
                try:
                    raw = (await reader.readuntil(END))[: -len(END)]
                except asyncio.IncompleteReadError as exc:
                    if exc.partial.strip():
                        log.warning(
                            "feed: connection closed mid-message (%s bytes)", len(exc.partial)
                        )
                    break
                except asyncio.LimitOverrunError as exc:
                    raw, too_long = await _oversized(reader, exc.consumed), True
                    if raw is None:
                        log.warning("feed: connection closed mid-message (over %s bytes)", LIMIT)
                        break
                    log.warning("feed: message over %s bytes: its beginning is kept", LIMIT)
                start = raw.find(START)
                raw = raw[start + 1 :] if start >= 0 else raw
                raw = raw[:LIMIT]
                answer = await asyncio.get_running_loop().run_in_executor(
                    self.worker, self._receive, raw, too_long
                )
                if answer is False:
                    break  # the database is down: no ACK, the sender will resend
                if answer is not None:
                    writer.writeblock(answer)
                    await writer.drain()
        except (ConnectionError, ssl.SSLError) as exc:
            log.warning("feed: connection lost (%s)", type(exc).__name__)
        finally:
            writer.close()

    def _enter(self) -> None:
        self.app.app_context().push()

    def _receive(self, raw: bytes, too_long: bool = False):
        """On the worker thread: the ACK bytes, None for no ACK, False if the store failed."""
        try:
            return feed_intake.receive(raw, too_long=too_long).ack
        except feed_intake.StoreUnavailable:
            return False

    def purge(self) -> None:
        try:
            feed_intake.purge()
        except Exception as exc:  # noqa: BLE001 - the listener must outlive a failed purge
            db.session.rollback()
            log.error("feed: purge failed: %s", failure(exc))

    def close(self) -> None:
        """Stop the worker threads and give their database connections back."""
        # The barrier holds each thread until all have one: every thread ends its own session.
        everyone = threading.Barrier(self.threads)

        def leave():
            db.session.remove()
            everyone.wait(10)

        for done in [self.worker.submit(leave) for _ in range(self.threads)]:
            done.result()
        self.worker.shutdown(wait=True)

    async def purge_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await loop.run_in_executor(self.worker, self.purge)
            await asyncio.sleep(PURGE_EVERY_SECONDS)


async def serve(app: Flask) -> None:
    """Listen until the process is stopped."""
    listener = Listener(app)
    server = await listener.start()
    where = ", ".join(str(sock.getsockname()) for sock in server.sockets)
    tls = "with TLS" if app.config.get("HL7_TLS_CERT") else "WITHOUT TLS"
    log.info("feed: HL7 listener on %s %s", where, tls)
    purging = asyncio.create_task(listener.purge_forever())
    try:
        async with server:
            await server.serve_forever()
    finally:
        purging.cancel()


feed_cli = AppGroup("feed", help="The HL7 scheduling feed.")


@feed_cli.command("listen")
def listen_command():
    """Run the HL7 listener in this process (as the Procfile's hl7: line does)."""
    asyncio.run(serve(current_app._get_current_object()))


@feed_cli.command("purge")
def purge_command():
    """Forget raw messages older than HL7_RETENTION_DAYS now (the listener does it hourly)."""
    click.echo(f"Purged {feed_intake.purge()} raw messages.")


def init_app(app: Flask) -> None:
    app.cli.add_command(feed_cli)
