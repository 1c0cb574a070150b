"""Start-up settings: safe defaults for the embedded mode, strict checks in production."""

from __future__ import annotations

import pytest

from navigator import config
from navigator.config import ConfigError

PRODUCTION = {
    "NAVIGATOR_ENV": "production",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
    "SECRET_KEY": "s" * 40,
    "TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
    "TWILIO_AUTH_TOKEN": "b" * 32,
    "TWILIO_PHONE_NUMBER": "+12025550100",
    "PROGRAM_NAME": "Hope Clinic Navigator",
    "CARE_TEAM_PHONE": "+16175550100",
    "PUBLIC_BASE_URL": "https://navigator.clinic.example",
}


def test_embedded_mode_needs_nothing_and_keeps_its_secrets_in_the_instance_folder(tmp_path):
    settings = config.load({}, str(tmp_path))
    assert settings["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert len(settings["SECRET_KEY"]) >= 32
    assert settings["SECRET_KEY"] == config.load({}, str(tmp_path))["SECRET_KEY"]
    assert settings["TWILIO_ACCOUNT_SID"] == ""  # outbound goes to the outbox
    assert settings["SESSION_COOKIE_SECURE"] is False
    assert settings["CARE_TEAM_PHONE"] == ""  # callers who press 0 leave a recorded message


def test_production_mode_with_everything_set_starts(tmp_path):
    settings = config.load(PRODUCTION, str(tmp_path))
    assert (
        settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    assert settings["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize("name", config.PRODUCTION_REQUIRED)
def test_production_mode_names_a_missing_variable(tmp_path, name):
    environ = {k: v for k, v in PRODUCTION.items() if k != name}
    with pytest.raises(ConfigError, match=name):
        config.load(environ, str(tmp_path))


@pytest.mark.parametrize("url", ["http://navigator.clinic.example", "http://localhost:8000"])
def test_production_refuses_a_public_base_url_that_is_not_https_naming_it(tmp_path, url):
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL must be https"):
        config.load({**PRODUCTION, "PUBLIC_BASE_URL": url}, str(tmp_path))


def test_production_names_a_missing_public_base_url(tmp_path):
    """The reminder worker has no request to take a host from: without the setting it would
    send Twilio's delivery reports and reminder calls to localhost."""
    environ = {k: v for k, v in PRODUCTION.items() if k != "PUBLIC_BASE_URL"}
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL is required"):
        config.load(environ, str(tmp_path))


@pytest.mark.parametrize(
    "name,value",
    [
        ("TWILIO_ACCOUNT_SID", "not-a-sid"),
        ("TWILIO_PHONE_NUMBER", "12"),
        ("CARE_TEAM_PHONE", "call us"),
        ("SECRET_KEY", "short"),
        ("TWILIO_API_URL", "localhost:8080"),
        ("PUBLIC_BASE_URL", "ftp://example.org"),
        ("REMINDER_OFFSETS", "3 days"),
        ("QUIET_HOURS", "9pm-8am"),
        ("SEND_RATE_PER_SECOND", "-1"),
        ("LOG_LEVEL", "LOUD"),
        ("LOG_LEVEL", "basic_format"),
    ],
)
def test_a_malformed_value_is_refused_naming_the_variable(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        config.load({**PRODUCTION, name: value}, str(tmp_path))


def test_production_refuses_the_navigators_own_number_as_the_care_team_line(tmp_path):
    """Callers pressing 0 would be sent back to the menu they are trying to leave."""
    with pytest.raises(ConfigError, match="CARE_TEAM_PHONE"):
        config.load({**PRODUCTION, "CARE_TEAM_PHONE": "(202) 555-0100"}, str(tmp_path))


@pytest.mark.parametrize("value", ["debug", "WARNING", " error "])
def test_a_log_level_is_read_in_any_case(tmp_path, value):
    assert config.load({"LOG_LEVEL": value}, str(tmp_path))["LOG_LEVEL"] == value.strip().upper()


def test_logging_given_a_bad_level_directly_stops_naming_the_variable():
    """A test mapping skips the parsers; the logging set-up still refuses the value."""
    from flask import Flask

    from navigator import logs

    app = Flask(__name__)
    app.config["LOG_LEVEL"] = "basic_format"
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        logs.init_app(app)


def test_an_unknown_mode_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="NAVIGATOR_ENV"):
        config.load({"NAVIGATOR_ENV": "staging"}, str(tmp_path))


def test_wsgi_start_up_stops_with_a_message_naming_the_variable(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    environ = {**PRODUCTION, "TWILIO_AUTH_TOKEN": "", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=root,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "TWILIO_AUTH_TOKEN is required" in result.stderr
