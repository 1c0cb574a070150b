"""How the navigator talks to its database: time limits, and stale connections.

A webhook must answer Twilio within 15 s, with the safety advice where there is a warning
sign, whatever the database is doing. So every connection has limits of a few seconds:

- connecting (``DATABASE_CONNECT_TIMEOUT``): a server that refuses, or that accepts and
  never answers (a failover in progress, a hung host), fails the request in seconds;
- each statement and each lock wait (``DATABASE_STATEMENT_TIMEOUT``), on PostgreSQL set by
  the server for the session, on SQLite the busy timeout (how long a writer waits its turn);
- waiting for a free connection in the pool.

After a restart or failover the server has closed the pooled connections. The app's
engine (the ORM: coordinator pages, turns with effects, the worker) checks each connection
before use (``pool_pre_ping``), one round trip per checkout. The webhooks' hot path
(``channels/turns.py``) cannot afford that round trip on every text: its engine has no
pre-ping, and a statement that finds its connection gone is run once more on a fresh one.
The HL7 listener turns the check off too (``DATABASE_PRE_PING``): there a message that
meets a dead connection gets no ACK, the pool is discarded, and the sender's resend finds a
fresh connection, so nothing is lost and each message saves the round trip.

What the webhooks do when the limits are reached is in ``durable_inbound``.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url


def engine_options(url: str, config, *, autocommit: bool = False) -> dict:
    """SQLAlchemy ``create_engine`` options for ``url`` with the app's time limits.

    ``autocommit`` adds what the plain-turn connections of ``turns.py`` need.
    """
    connect_seconds = config["DATABASE_CONNECT_TIMEOUT"]
    statement_seconds = config["DATABASE_STATEMENT_TIMEOUT"]
    options = {
        "pool_recycle": 1800,
        # turns.py retries on a fresh connection instead; the HL7 listener turns it off.
        "pool_pre_ping": config["DATABASE_PRE_PING"] and not autocommit,
        # hide_parameters: a database error must not quote a text's body into the logs.
        "hide_parameters": True,
    }
    if make_url(url).get_backend_name() == "sqlite":
        # The sqlite3 module's own timeout; extensions.py sets the same as busy_timeout.
        options["connect_args"] = {"timeout": statement_seconds}
        return options
    milliseconds = int(statement_seconds * 1000)
    server_settings = [
        f"-c statement_timeout={milliseconds}",
        f"-c lock_timeout={milliseconds}",
    ]
    # No idle-in-transaction limit: the reminder worker may hold a read transaction open
    # while a batch waits on Twilio, and must not lose its connection for it.
    if autocommit:
        server_settings.append("-c synchronous_commit=off")
    options["pool_timeout"] = connect_seconds + statement_seconds
    options["connect_args"] = {
        "connect_timeout": max(2, int(connect_seconds)),
        "options": " ".join(server_settings),
        # Unacknowledged writes on a dead link give up after this, instead of the kernel's
        # default of many minutes.
        "tcp_user_timeout": int((connect_seconds + statement_seconds) * 1000),
    }
    if autocommit:
        options["isolation_level"] = "AUTOCOMMIT"
        # Every statement is its own transaction: a connection comes back with nothing to
        # roll back, so the pool's reset on return would be Python work for nothing.
        options["pool_reset_on_return"] = None
    return options


def init_app(app) -> None:
    """Give the app's engine its time limits; called before ``db.init_app``.

    Built here, from the final database URL, rather than in config.py: a test mapping may
    change the URL after the environment was read.
    """
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
        app.config["SQLALCHEMY_DATABASE_URI"], app.config
    )
