"""Sign-in under attack: parallel guessing, weak passwords, old sessions, forged addresses."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
import requests
from coordinator_support import PASSWORD, make_coordinator, post_form, sign_in
from werkzeug.serving import make_server

from navigator.coordinator import sessions
from navigator.extensions import db
from navigator.models import AuditEvent, Coordinator, utcnow

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
LOCKED = "locked"


# -- parallel guessing ------------------------------------------------------------------


@pytest.fixture
def threaded_servers(app):
    """Two web workers of many threads each, as gunicorn would run them, on real HTTP."""
    servers = [make_server("127.0.0.1", 0, app, threaded=True) for _ in range(2)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    yield [f"http://127.0.0.1:{s.server_port}" for s in servers]
    for server in servers:
        server.shutdown()


def _try_password(base: str, email: str, password: str) -> str:
    with requests.Session() as browser:
        page = browser.get(base + "/sign-in", timeout=30).text
        token = TOKEN.search(page).group(1)
        answer = browser.post(
            base + "/sign-in",
            data={"email": email, "password": password, "csrf_token": token},
            allow_redirects=False,
            timeout=30,
        )
    return "in" if answer.status_code == 302 else answer.text


def _attack(bases: list[str], email: str, tries: int) -> list[str]:
    """``tries`` wrong passwords at once, spread over the workers; what each was told."""
    said: list[str] = [""] * tries
    go = threading.Barrier(tries)

    def one(n):
        go.wait()
        said[n] = _try_password(bases[n % len(bases)], email, f"wrong guess number {n}")

    threads = [threading.Thread(target=one, args=(n,)) for n in range(tries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return said


@pytest.mark.postgres_only
def test_parallel_wrong_passwords_on_several_workers_never_get_past_the_limit(
    app, threaded_servers
):
    """32 wrong passwords at once against one account: at most 5 are compared, the account
    is locked, and then even the right password is refused."""
    coordinator = make_coordinator()
    _attack(threaded_servers, coordinator.email, 32)
    db.session.expire_all()
    compared = db.session.scalar(
        db.select(db.func.count(AuditEvent.id)).filter_by(action="sign_in_failed")
    )
    assert compared <= 5
    locked = db.session.get(Coordinator, coordinator.id)
    assert locked.locked_until is not None and locked.locked_until > utcnow()
    assert _try_password(threaded_servers[0], coordinator.email, PASSWORD) != "in"


@pytest.mark.postgres_only
def test_parallel_guesses_at_unknown_emails_from_one_address_stop_at_the_client_limit(
    app, threaded_servers
):
    app.config["COORDINATOR_MAX_FAILED_SIGN_INS_PER_CLIENT"] = 6
    said = []
    threads = [
        threading.Thread(
            target=lambda n=n: said.append(
                _try_password(threaded_servers[n % 2], f"guess{n}@clinic.test", "nope nope nope")
            )
        )
        for n in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    db.session.expire_all()
    compared = db.session.scalar(
        db.select(db.func.count(AuditEvent.id)).filter_by(action="sign_in_failed")
    )
    assert compared <= 6


# -- behind a proxy, and not ------------------------------------------------------------


def test_a_forged_forwarded_for_header_does_not_escape_the_client_limit(app, client):
    """Without a configured proxy, X-Forwarded-For is the client's own words: ignored."""
    app.config["COORDINATOR_MAX_FAILED_SIGN_INS_PER_CLIENT"] = 3
    make_coordinator()
    for n in range(3):
        client.environ_base["HTTP_X_FORWARDED_FOR"] = f"10.0.0.{n}"
        sign_in(client, email=f"guess{n}@clinic.test", password="nope nope nope")
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "10.0.0.99"
    assert sign_in(client).status_code == 422


def test_behind_a_configured_proxy_each_client_is_counted_by_its_forwarded_address(app, app_with):
    behind = app_with(TRUSTED_PROXIES=1, COORDINATOR_MAX_FAILED_SIGN_INS_PER_CLIENT=3)
    make_coordinator()
    guesser = behind.test_client()
    guesser.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"
    for n in range(3):
        sign_in(guesser, email=f"guess{n}@clinic.test", password="nope nope nope")
    assert sign_in(guesser).status_code == 422  # that address is stopped
    nurse = behind.test_client()  # same proxy, another clinic computer
    nurse.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.20"
    assert sign_in(nurse).headers["Location"] == "/inbox"


# -- password strength ------------------------------------------------------------------


def _change_password(client, new):
    return post_form(
        client,
        "/account/password",
        {"current": PASSWORD, "password": new, "confirm": new},
        page="/account",
    )


@pytest.mark.parametrize(
    "weak", ["password1234", "nurse@clinic.test!!", "nurse1234567890", "qwertyuiop123"]
)
def test_a_weak_password_or_one_with_the_email_is_refused(app, client, weak):
    make_coordinator()
    sign_in(client)
    response = _change_password(client, weak)
    assert response.status_code == 422
    said = response.get_data(as_text=True)
    assert "Try a few unrelated words together." in said or "Do not use your email" in said


def test_a_strong_password_is_accepted(app, client):
    make_coordinator()
    sign_in(client)
    assert _change_password(client, "violet kayak under seven lanterns").status_code == 302


def test_the_command_line_refuses_a_weak_password(app, runner):
    result = runner.invoke(
        args=["coordinators", "create", "cli@clinic.test", "--password-stdin"],
        input="password1234\n",
    )
    assert result.exit_code != 0 and "password is refused" in result.output
    assert db.session.scalar(db.select(Coordinator).filter_by(email="cli@clinic.test")) is None


# -- session lifetime -------------------------------------------------------------------


def test_a_session_ends_12_hours_after_sign_in_however_busy(app, client):
    make_coordinator()
    sign_in(client)
    with client.session_transaction() as cookie:
        cookie[sessions.STARTED] = (utcnow() - timedelta(hours=11, minutes=59)).isoformat()
    assert client.get("/inbox").status_code == 200
    with client.session_transaction() as cookie:
        cookie[sessions.STARTED] = (utcnow() - timedelta(hours=12, minutes=1)).isoformat()
    response = client.get("/inbox")
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    assert client.get("/inbox").status_code == 302  # that session is over for good
