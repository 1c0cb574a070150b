"""Shared fixtures: an app on a fresh database, and requests signed as Twilio signs them.

The database is SQLite by default. With ``TEST_DATABASE_URL`` set to a PostgreSQL
server (as ``.ci/run`` does on its second pass), each test session creates a database
of its own there, so parallel runs never meet, and drops it at the end. The schema is
built by the real migrations, once per session; each test starts from empty tables.
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from twilio_signing import AUTH_TOKEN, TwilioSigner

from navigator.app import create_app
from navigator.extensions import db


def _postgres_database(server_url: str):
    """Create a throwaway database on the server; return its URL and a dropper."""
    url = sa.engine.make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"nav_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    server = os.environ.get("TEST_DATABASE_URL", "")
    if server.startswith("postgres"):
        url, drop = _postgres_database(server)
        yield url
        drop()
    else:
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "navigator.sqlite3")


@pytest.fixture(scope="session")
def migrated(database_url, tmp_path_factory):
    """Run the real migrations once for the session."""
    app = create_app(_test_config(database_url, tmp_path_factory.mktemp("instance")))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return database_url


def _test_config(database_url: str, instance) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123",
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_ACCOUNT_SID": "",
        "TWILIO_PHONE_NUMBER": "+12025550100",
        "CARE_TEAM_PHONE": "+16175550100",
        "PROGRAM_NAME": "Hope Clinic Navigator",
        "PUBLIC_BASE_URL": "",
        "WTF_CSRF_ENABLED": True,
        "SPOOL_DIR": str(instance / "spool"),
    }


@pytest.fixture
def app(migrated, tmp_path):
    app = create_app(_test_config(migrated, tmp_path))
    with app.app_context():
        _empty_tables()
        yield app
        db.session.remove()
        db.engine.dispose()
        if "turns_engine" in app.extensions:
            app.extensions["turns_engine"].dispose()


def _empty_tables() -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def twilio(client):
    return TwilioSigner(client)


pytest_plugins = ["conftest_twilio"]


@pytest.fixture
def written_logs(app):
    """What the navigator's own log handler writes (same formatter and filters), at DEBUG.

    The navigator logger does not propagate to the root logger (one redacting handler),
    so pytest's caplog would see nothing and prove nothing.
    """
    import io
    import logging

    from navigator.logs import RedactPhones

    logger = logging.getLogger("navigator")
    [real] = [h for h in logger.handlers if any(isinstance(f, RedactPhones) for f in h.filters)]
    stream = io.StringIO()
    copy = logging.StreamHandler(stream)
    copy.setFormatter(real.formatter)
    for log_filter in real.filters:
        copy.addFilter(log_filter)
    level = logger.level
    logger.addHandler(copy)
    logger.setLevel(logging.DEBUG)
    yield stream
    logger.removeHandler(copy)
    logger.setLevel(level)


@pytest.fixture
def app_with(app):
    """Another app on the test settings with some of them changed (``TRUSTED_PROXIES``,
    an unreachable database): settings that ``create_app`` reads once, when it builds."""
    made = []

    def make(**overrides):
        other = create_app({**app.config, **overrides})
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
        if "turns_engine" in other.extensions:
            other.extensions["turns_engine"].dispose()
