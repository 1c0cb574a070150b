"""The listener's settings: safe by default, refused when half given or malformed."""

from __future__ import annotations

import pytest
from feed_support import RunningListener, enroll_patient, seed_site, send, siu

from navigator import config
from navigator.config import ConfigError
from navigator.extensions import db
from navigator.models import FeedMessage


def test_the_listener_binds_loopback_on_2575_without_tls_by_default(tmp_path):
    settings = config.load({}, str(tmp_path))

    assert (settings["HL7_BIND"], settings["HL7_PORT"]) == ("127.0.0.1", 2575)
    assert settings["HL7_TLS_CERT"] == "" and settings["HL7_ALLOWED_ADDRESSES"] == []
    assert settings["HL7_RETENTION_DAYS"] == 30


def test_a_certificate_without_its_key_is_refused(tmp_path):
    cert = tmp_path / "cert.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")

    with pytest.raises(ConfigError, match="HL7_TLS_CERT and HL7_TLS_KEY"):
        config.load({"HL7_TLS_CERT": str(cert)}, str(tmp_path))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HL7_PORT", "70000"),
        ("HL7_ALLOWED_ADDRESSES", "10.0.0.0/8, not-an-address"),
        ("HL7_RETENTION_DAYS", "0"),
        ("HL7_ENCODING", "klingon"),
        ("HL7_TLS_KEY", "/no/such/key.pem"),
    ],
)
def test_a_malformed_feed_setting_is_refused_naming_it(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        config.load({name: value}, str(tmp_path))


def test_a_sender_outside_the_allowlist_is_dropped_and_nothing_is_kept(app_with):
    guarded = app_with(HL7_ALLOWED_ADDRESSES=["10.20.0.0/16"])
    with guarded.app_context():
        seed_site()
        enroll_patient()
    running = RunningListener(guarded)
    try:
        [ack] = send(running.port, siu("S12", "MSG0001"))
    finally:
        running.stop()

    assert ack is None
    assert db.session.scalars(db.select(FeedMessage)).all() == []
