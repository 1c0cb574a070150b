"""Settings for the navigator, read from the environment once, when the app is made.

Two modes. ``embedded`` (the default) runs on a SQLite file with no Twilio account:
outbound messages go to a local outbox and secrets are generated and kept in the
instance folder. ``production`` (``NAVIGATOR_ENV=production``) refuses to start
unless every required value is present and well formed, and says which one is not.

Nothing here may be read at import time by other modules: they get ``app.config``. This is
the only module that reads the environment or gives a setting its default, so every other
module reads ``config["NAME"]`` and finds it set (tests/test_one_home.py checks).
"""

from __future__ import annotations

import codecs
import ipaddress
import os
import re
import secrets
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import available_timezones

import phonenumbers

#: Every setting the navigator reads, with what it means. Keys are environment names.
SETTINGS_HELP = {
    "NAVIGATOR_ENV": "embedded (default: SQLite, local outbox) or production (strict checks)",
    "DATABASE_URL": "SQLAlchemy URL; a SQLite file in the instance folder by default",
    "SECRET_KEY": "signs session cookies; generated and kept in the instance folder if unset",
    "TWILIO_ACCOUNT_SID": "Twilio account SID (AC...); empty means outbound goes to the outbox",
    "TWILIO_AUTH_TOKEN": "Twilio auth token; checks X-Twilio-Signature on every webhook",
    "TWILIO_PHONE_NUMBER": "the navigator's own number, E.164",
    "TWILIO_API_URL": "base URL of the Twilio REST API (a local fake in tests and demos)",
    "PUBLIC_BASE_URL": "the https URL Twilio calls, when behind a proxy that rewrites hosts",
    "CARE_TEAM_PHONE": "the care team's 24-hour line, E.164; callers who press 0 reach it",
    "PROGRAM_NAME": "the name patients see at the start of texts and hear on calls",
    "SUPPORT_URL": "optional web address for help, named in the HELP reply",
    "REMINDER_OFFSETS": "how long before an appointment reminders go, e.g. 3d,1d,2h",
    "QUIET_HOURS": "default quiet hours in the patient's zone, e.g. 21:00-08:00",
    "CARE_TEAM_HOURS": "when a person answers patients' questions (weekdays, site zone), 08:00-17:00",
    "SEND_RATE_PER_SECOND": "outbound messages per second at most (0 lifts the limit)",
    "TRUSTED_PROXIES": "how many proxies in front of the app set X-Forwarded-* (0 = none)",
    "LOG_LEVEL": "DEBUG, INFO, WARNING, ERROR or CRITICAL",
    "MESSAGES_DIR": "where the content files live; messages/ beside the package by default",
    "SESSION_IDLE_MINUTES": "minutes without a request before a coordinator must sign in again",
    "SESSION_MAX_HOURS": "hours after signing in when a coordinator must sign in again (1-12)",
    "SITE_TIMEZONE": "the clinic's own zone, the default for a new appointment's site",
    # The worklist's overdue rules (workup_path.OVERDUE_RULES holds the defaults and sources).
    "OVERDUE_BIOPSY_BOOKING_DAYS": "days after imaging is done with no biopsy booked (7)",
    "OVERDUE_RESULTS_DAYS": "days after the biopsy with receptor results pending (10)",
    "OVERDUE_GENOMIC_DAYS": "days after ordering with a genomic result pending (28)",
    "OVERDUE_PLANNING_BOOKING_DAYS": "days after receptor results with no planning visit (10)",
    # The scheduling feed (HL7 SIU over MLLP): python -m navigator.interface_listener
    "HL7_BIND": "address the HL7 listener binds; 127.0.0.1 by default (never all by default)",
    "HL7_PORT": "TCP port of the HL7 listener; 2575 by default",
    "HL7_TLS_CERT": "PEM certificate of the HL7 listener; with HL7_TLS_KEY it speaks TLS only",
    "HL7_TLS_KEY": "PEM private key for HL7_TLS_CERT",
    "HL7_TLS_CLIENT_CA": "PEM CA bundle; when set, senders must show a certificate it signed",
    "HL7_ALLOWED_ADDRESSES": "comma-separated IPs or networks allowed to connect (empty: any)",
    "HL7_MRN_AUTHORITY": "PID-3.4 assigning authority of the MRNs enrolled here, e.g. MAINHOSP",
    "HL7_RETENTION_DAYS": "days raw feed messages are kept before their content is purged",
    "HL7_ENCODING": "character set the feed sends (utf-8 by default; e.g. cp1252)",
    "HL7_RECEIVING_APP": "the navigator's name in ACKs (MSH-3); NAVIGATOR by default",
    "HL7_DB_THREADS": "messages the HL7 listener applies at once on PostgreSQL (default 4)",
    "DATABASE_CONNECT_TIMEOUT": "seconds to wait for a database connection (default 3)",
    "DATABASE_STATEMENT_TIMEOUT": "seconds a database statement or lock wait may take (4)",
    "MAX_CONTENT_LENGTH": "largest request body in bytes (1 MiB); larger ones get 413",
    "SPOOL_DIR": "folder for texts kept while the database is down; instance/spool by default",
    "WARNING_SIGN_OVERDUE_MINUTES": "minutes a warning sign may wait unclaimed before it shows overdue",
    "INBOX_POLL_SECONDS": "how often open pages ask for new inbox items",
}

PRODUCTION_REQUIRED = (
    "DATABASE_URL",
    "SECRET_KEY",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_PHONE_NUMBER",
    "PROGRAM_NAME",
    # Callers who press 0 and every "call your care team" reply need a real 24-hour line,
    # never the navigator's own number.
    "CARE_TEAM_PHONE",
    # The worker has no request to read a host from: without it, status callbacks and
    # reminder-call URLs would point Twilio at http://localhost, and no delivery report
    # (so no alert for an undelivered reminder) would ever arrive.
    "PUBLIC_BASE_URL",
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

DEMO_PROGRAM_NAME = "Care Navigator"
DEMO_PHONE_NUMBER = "+12025550100"
#: The care team's line as named to patients when none is set (the embedded mode only:
#: production requires one). Fictional (555-01xx, outside the practice patients' 202 area),
#: so a demo never tells a patient with a fever to call the navigator's own number.
DEMO_CARE_TEAM_PHONE = "+13125550199"


def care_team_phone(config) -> str:
    """The number patients are told to call for the care team, E.164."""
    return config.get("CARE_TEAM_PHONE") or DEMO_CARE_TEAM_PHONE


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""


def _offsets(value: str) -> list[str]:
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if not parts or not all(re.fullmatch(r"\d+[dhm]", p) for p in parts):
        raise ValueError("expected a list such as 3d,1d,2h")
    return parts


def _quiet_hours(value: str) -> str:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", value.strip()):
        raise ValueError("expected HH:MM-HH:MM, e.g. 21:00-08:00")
    return value.strip()


def _e164(value: str) -> str:
    try:
        number = phonenumbers.parse(value, "US")
    except phonenumbers.NumberParseException as exc:
        raise ValueError("not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _url(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError("expected an http(s) URL")
    return value.rstrip("/")


def _database_url(value: str) -> str:
    if "://" not in value:
        raise ValueError("expected a URL such as postgresql://user@host/db")
    # Heroku-style URLs name the old driver; SQLAlchemy wants psycopg 3 spelled out.
    if value.startswith("postgres://"):
        value = "postgresql://" + value[len("postgres://") :]
    if value.startswith("postgresql://"):
        value = "postgresql+psycopg://" + value[len("postgresql://") :]
    return value


def _non_negative_float(value: str) -> float:
    number = float(value)
    if number < 0:
        raise ValueError("must be 0 or more")
    return number


def _non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("must be 0 or more")
    return number


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("must be 1 or more")
    return number


def _seconds(value: str) -> float:
    number = float(value)
    if not 0.5 <= number <= 10:
        raise ValueError("expected 0.5 to 10 seconds, well within Twilio's 15")
    return number


def _session_hours(value: str) -> int:
    number = int(value)
    if not 1 <= number <= 12:
        raise ValueError("expected 1 to 12 hours")
    return number


def _zone(value: str) -> str:
    if value not in available_timezones():
        raise ValueError("expected an IANA zone such as America/Chicago")
    return value


def _log_level(value: str) -> str:
    if value.upper() not in LOG_LEVELS:
        raise ValueError("expected " + ", ".join(LOG_LEVELS))
    return value.upper()


def _account_sid(value: str) -> str:
    if not re.fullmatch(r"AC[0-9a-fA-F]{32}", value):
        raise ValueError("expected AC followed by 32 hex digits")
    return value


def _auth_token(value: str) -> str:
    if len(value) < 16:
        raise ValueError("too short to be an auth token")
    return value


def _secret_key(value: str) -> str:
    if len(value) < 32:
        raise ValueError("must be at least 32 characters")
    return value


def _port(value: str) -> int:
    number = int(value)
    if not 0 <= number <= 65535:
        raise ValueError("must be a TCP port, 0 to 65535")
    return number


def _readable_file(value: str) -> str:
    if not Path(value).is_file():
        raise ValueError("no such file")
    return value


def _networks(value: str) -> list[str]:

    found = [part.strip() for part in value.split(",") if part.strip()]
    for part in found:
        ipaddress.ip_network(part, strict=False)
    return found


def _encoding(value: str) -> str:

    try:
        codecs.lookup(value)
    except LookupError:
        raise ValueError("unknown character set") from None
    return value


PARSERS = {
    "DATABASE_URL": _database_url,
    "SECRET_KEY": _secret_key,
    "TWILIO_ACCOUNT_SID": _account_sid,
    "TWILIO_AUTH_TOKEN": _auth_token,
    "TWILIO_PHONE_NUMBER": _e164,
    "TWILIO_API_URL": _url,
    "PUBLIC_BASE_URL": _url,
    "CARE_TEAM_PHONE": _e164,
    "SUPPORT_URL": _url,
    "REMINDER_OFFSETS": _offsets,
    "QUIET_HOURS": _quiet_hours,
    "CARE_TEAM_HOURS": _quiet_hours,  # the same HH:MM-HH:MM shape
    "SEND_RATE_PER_SECOND": _non_negative_float,
    "TRUSTED_PROXIES": _non_negative_int,
    "LOG_LEVEL": _log_level,
    "SESSION_IDLE_MINUTES": _positive_int,
    "SESSION_MAX_HOURS": _session_hours,
    "SITE_TIMEZONE": _zone,
    "OVERDUE_BIOPSY_BOOKING_DAYS": _positive_int,
    "OVERDUE_RESULTS_DAYS": _positive_int,
    "OVERDUE_GENOMIC_DAYS": _positive_int,
    "OVERDUE_PLANNING_BOOKING_DAYS": _positive_int,
    "HL7_PORT": _port,
    "HL7_TLS_CERT": _readable_file,
    "HL7_TLS_KEY": _readable_file,
    "HL7_TLS_CLIENT_CA": _readable_file,
    "HL7_ALLOWED_ADDRESSES": _networks,
    "HL7_RETENTION_DAYS": _positive_int,
    "HL7_ENCODING": _encoding,
    "HL7_DB_THREADS": _positive_int,
    "DATABASE_CONNECT_TIMEOUT": _seconds,
    "DATABASE_STATEMENT_TIMEOUT": _seconds,
    "MAX_CONTENT_LENGTH": _positive_int,
    "WARNING_SIGN_OVERDUE_MINUTES": _positive_int,
    "INBOX_POLL_SECONDS": _positive_int,
}


def _instance_secret(instance_path: Path, name: str) -> str:
    """A random secret kept in the instance folder, so restarts keep sessions valid."""
    path = instance_path / name
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    path.write_text(value)
    path.chmod(0o600)
    return value


def from_environment(instance_path: str) -> dict:
    """The config mapping from this process's environment (``load`` on ``os.environ``)."""
    return load(os.environ, instance_path)


def load(environ: os._Environ | dict, instance_path: str) -> dict:
    """Build the config mapping from ``environ``.

    :raise ConfigError: a value is malformed, or (in production) a required one is missing.
    """
    mode = environ.get("NAVIGATOR_ENV", "embedded").strip() or "embedded"
    if mode not in ("embedded", "production"):
        raise ConfigError(f"NAVIGATOR_ENV must be 'embedded' or 'production', not {mode!r}")
    production = mode == "production"
    if production:
        for name in PRODUCTION_REQUIRED:
            if not environ.get(name, "").strip():
                raise ConfigError(f"{name} is required when NAVIGATOR_ENV=production")

    values: dict = {}
    for name, parse in PARSERS.items():
        raw = environ.get(name, "").strip()
        if not raw:
            continue
        try:
            values[name] = parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{name} is malformed: {exc}") from None
    if bool(values.get("HL7_TLS_CERT")) != bool(values.get("HL7_TLS_KEY")):
        raise ConfigError("HL7_TLS_CERT and HL7_TLS_KEY must be given together")
    if production and not values["PUBLIC_BASE_URL"].startswith("https://"):
        raise ConfigError(
            "PUBLIC_BASE_URL must be https:// in production: Twilio posts patients' words there"
        )
    if production and values["CARE_TEAM_PHONE"] == values["TWILIO_PHONE_NUMBER"]:
        raise ConfigError(
            "CARE_TEAM_PHONE must be the care team's own line, not TWILIO_PHONE_NUMBER"
        )

    instance = Path(instance_path)
    config = {
        "NAVIGATOR_ENV": mode,
        "SQLALCHEMY_DATABASE_URI": values.get(
            "DATABASE_URL", "sqlite:///" + str(instance / "navigator.sqlite3")
        ),
        "SECRET_KEY": values.get("SECRET_KEY") or _instance_secret(instance, "secret_key"),
        "TWILIO_ACCOUNT_SID": values.get("TWILIO_ACCOUNT_SID", ""),
        # Embedded mode still checks signatures: with a local token, the try-it page signs.
        "TWILIO_AUTH_TOKEN": values.get("TWILIO_AUTH_TOKEN")
        or _instance_secret(instance, "twilio_auth_token"),
        "TWILIO_PHONE_NUMBER": values.get("TWILIO_PHONE_NUMBER", DEMO_PHONE_NUMBER),
        "TWILIO_API_URL": values.get("TWILIO_API_URL", ""),
        "PUBLIC_BASE_URL": values.get("PUBLIC_BASE_URL", ""),
        "CARE_TEAM_PHONE": values.get("CARE_TEAM_PHONE", ""),
        "PROGRAM_NAME": environ.get("PROGRAM_NAME", "").strip() or DEMO_PROGRAM_NAME,
        "SUPPORT_URL": values.get("SUPPORT_URL", ""),
        "REMINDER_OFFSETS": values.get("REMINDER_OFFSETS", ["3d", "1d", "2h"]),
        "QUIET_HOURS": values.get("QUIET_HOURS", "21:00-08:00"),
        "CARE_TEAM_HOURS": values.get("CARE_TEAM_HOURS", "08:00-17:00"),
        "SEND_RATE_PER_SECOND": values.get("SEND_RATE_PER_SECOND", 1.0),
        "TRUSTED_PROXIES": values.get("TRUSTED_PROXIES", 0),
        "LOG_LEVEL": values.get("LOG_LEVEL", "INFO"),
        "MESSAGES_DIR": environ.get("MESSAGES_DIR", "").strip()
        or str(Path(__file__).resolve().parent.parent / "messages"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "SESSION_IDLE_MINUTES": values.get("SESSION_IDLE_MINUTES", 30),
        "SESSION_MAX_HOURS": values.get("SESSION_MAX_HOURS", 12),
        # A form's CSRF token lives as long as the session it was made in (sign-out and the
        # idle timeout end both), so a nurse mid-form is never refused for a timer of its own.
        "WTF_CSRF_TIME_LIMIT": None,
        # Flask-WTF's own default, named here because the blueprint reads it.
        "WTF_CSRF_FIELD_NAME": "csrf_token",
        "SITE_TIMEZONE": values.get("SITE_TIMEZONE", "America/New_York"),
        # Time limits for every database connection (database.py builds the engine options).
        "DATABASE_CONNECT_TIMEOUT": values.get("DATABASE_CONNECT_TIMEOUT", 3.0),
        "DATABASE_STATEMENT_TIMEOUT": values.get("DATABASE_STATEMENT_TIMEOUT", 4.0),
        # Check each pooled connection before use (database.py); the HL7 listener turns
        # it off, because a message that meets a dead connection is simply not answered.
        "DATABASE_PRE_PING": True,
        # A Twilio webhook is a few kilobytes, a coordinator's form less: a bound on abuse.
        "MAX_CONTENT_LENGTH": values.get("MAX_CONTENT_LENGTH", 1024 * 1024),
        # Where a text or call step goes when the database cannot take it (durable_inbound).
        "SPOOL_DIR": environ.get("SPOOL_DIR", "").strip() or str(instance / "spool"),
        **_feed_settings(environ, values),
        "WARNING_SIGN_OVERDUE_MINUTES": values.get("WARNING_SIGN_OVERDUE_MINUTES", 15),
        # Tuning that no environment sets (tests and ``navigator.scheduler``'s options do):
        # seconds a Twilio REST call may take; the worker's send threads and claim batch.
        "TWILIO_TIMEOUT_SECONDS": 15.0,
        "REMINDER_SEND_THREADS": 16,
        "REMINDER_BATCH": 200,
        "INBOX_POLL_SECONDS": values.get("INBOX_POLL_SECONDS", 30),
    }
    # Overdue rules: only what the environment gave; workup_path sets the defaults.
    config.update({k: v for k, v in values.items() if k.startswith("OVERDUE_")})
    return config


def _feed_settings(environ, values: dict) -> dict:
    """The HL7 listener's settings: loopback and no TLS unless told otherwise."""
    return {
        "HL7_BIND": environ.get("HL7_BIND", "").strip() or "127.0.0.1",
        "HL7_PORT": values.get("HL7_PORT", 2575),
        "HL7_TLS_CERT": values.get("HL7_TLS_CERT", ""),
        "HL7_TLS_KEY": values.get("HL7_TLS_KEY", ""),
        "HL7_TLS_CLIENT_CA": values.get("HL7_TLS_CLIENT_CA", ""),
        "HL7_ALLOWED_ADDRESSES": values.get("HL7_ALLOWED_ADDRESSES", []),
        "HL7_MRN_AUTHORITY": environ.get("HL7_MRN_AUTHORITY", "").strip(),
        "HL7_RETENTION_DAYS": values.get("HL7_RETENTION_DAYS", 30),
        "HL7_ENCODING": values.get("HL7_ENCODING", "utf-8"),
        "HL7_RECEIVING_APP": environ.get("HL7_RECEIVING_APP", "").strip() or "NAVIGATOR",
        "HL7_RECEIVING_FACILITY": "NAVIGATOR",
        "HL7_DB_THREADS": values.get("HL7_DB_THREADS", 4),
    }
