"""Signing in, the failed sign-in limit, CSRF, headers, and who may reach what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from coordinator_support import PASSWORD, csrf_token, make_coordinator, post_form, sign_in

from navigator.extensions import db
from navigator.models import AuditEvent, Coordinator, utcnow


def _coordinator_urls(app):
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("coordinator.") or rule.endpoint in (
            "coordinator.static",
            "coordinator.sign_in",
        ):
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<int:{arg}>", "1")
        for method in sorted(rule.methods & {"GET", "POST"}):
            yield method, url


def test_every_coordinator_page_sends_a_signed_out_visitor_to_sign_in(app, client):
    app.config["WTF_CSRF_ENABLED"] = False  # reach the sign-in check, not the CSRF check
    urls = list(_coordinator_urls(app))
    assert len(urls) >= 15
    for method, url in urls:
        response = client.open(url, method=method)
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/sign-in"), (method, url)


def test_the_home_page_leads_to_sign_in_and_then_to_the_inbox(app, client):
    make_coordinator()
    assert client.get("/").headers["Location"].startswith("/sign-in")
    response = sign_in(client)
    assert response.status_code == 302
    assert client.get("/").headers["Location"] == "/inbox"
    assert client.get("/inbox").status_code == 200


def test_a_right_password_signs_in_and_is_audited(app, client):
    coordinator = make_coordinator()
    response = sign_in(client)
    assert response.headers["Location"] == "/inbox"
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="sign_in"))
    assert event.coordinator_id == coordinator.id


def test_sign_in_goes_back_to_the_page_asked_for_but_never_off_site(app, client):
    make_coordinator()
    token = csrf_token(client, "/sign-in")
    data = {"email": "nurse@clinic.test", "password": PASSWORD, "csrf_token": token}
    assert client.post("/sign-in?next=/patients", data=data).headers["Location"] == "/patients"
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/inbox")})
    token = csrf_token(client, "/sign-in")
    data["csrf_token"] = token
    response = client.post("/sign-in?next=//evil.example/", data=data)
    assert response.headers["Location"] == "/inbox"


def test_a_wrong_password_is_refused_without_saying_whether_the_email_exists(app, client):
    make_coordinator()
    wrong = sign_in(client, password="not the password")
    unknown = sign_in(client, email="nobody@clinic.test")
    assert wrong.status_code == unknown.status_code == 422
    assert "The email or password is not right." in wrong.get_data(as_text=True)
    assert "The email or password is not right." in unknown.get_data(as_text=True)
    assert client.get("/inbox").status_code == 302


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(app, client):
    coordinator = make_coordinator()
    for _ in range(4):
        sign_in(client, password="nope nope nope")
    db.session.refresh(coordinator)
    assert coordinator.failed_logins == 4 and coordinator.locked_until is None
    fifth = sign_in(client, password="nope nope nope")
    assert "locked for 15 minutes" in fifth.get_data(as_text=True)
    right = sign_in(client)
    assert right.status_code == 422
    assert "locked" in right.get_data(as_text=True)
    assert client.get("/inbox").status_code == 302
    db.session.refresh(coordinator)
    assert coordinator.locked_until > utcnow() + timedelta(minutes=14)
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="lock"))


def test_a_lock_ends_after_its_minutes(app, client):
    coordinator = make_coordinator()
    coordinator.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert sign_in(client).headers["Location"] == "/inbox"
    db.session.refresh(coordinator)
    assert coordinator.locked_until is None and coordinator.failed_logins == 0


def test_the_limit_and_the_lock_length_come_from_the_settings(app, client):
    app.config.update(COORDINATOR_MAX_FAILED_SIGN_INS=2, COORDINATOR_LOCKOUT_MINUTES=3)
    make_coordinator()
    sign_in(client, password="nope nope nope")
    response = sign_in(client, password="nope nope nope")
    assert "locked for 3 minutes" in response.get_data(as_text=True)


def test_a_form_without_its_csrf_token_is_rejected(app, client):
    make_coordinator()
    response = client.post("/sign-in", data={"email": "nurse@clinic.test", "password": PASSWORD})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    sign_in(client)
    response = client.post("/patients/new", data={"name": "Ann"})
    assert response.status_code == 400


def test_session_cookies_are_http_only_and_same_site(app, client):
    make_coordinator()
    cookies = sign_in(client).headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie


def test_pages_carry_security_headers_and_are_not_cached(app, client):
    response = client.get("/sign-in")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_signing_out_ends_the_session(app, client):
    make_coordinator()
    sign_in(client)
    response = post_form(client, "/sign-out", {}, page="/inbox")
    assert response.headers["Location"] == "/sign-in"
    assert client.get("/inbox").status_code == 302


def test_an_admin_adds_a_coordinator_who_can_then_sign_in(app, client):
    make_coordinator(admin=True)
    sign_in(client)
    response = post_form(
        client,
        "/coordinators",
        {
            "email": "New.Nurse@clinic.test",
            "name": "New Nurse",
            "timezone": "America/Chicago",
            "password": "another long password",
            "confirm": "another long password",
        },
    )
    assert response.status_code == 302
    added = db.session.scalar(db.select(Coordinator).filter_by(email="new.nurse@clinic.test"))
    assert added.timezone == "America/Chicago" and not added.is_admin
    assert added.password_hash != "another long password"
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="create", entity_id=added.id))
    other = app.test_client()
    assert sign_in(other, "new.nurse@clinic.test", "another long password").status_code == 302


def test_an_admin_form_with_mistakes_says_what_is_wrong_and_keeps_the_typing(app, client):
    make_coordinator(admin=True)
    sign_in(client)
    response = post_form(
        client,
        "/coordinators",
        {
            "email": "not-an-email",
            "name": "Typed Name",
            "timezone": "America/Chicago",
            "password": "short",
            "confirm": "different",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter an email address like name@clinic.org." in html
    assert "Use at least 12 characters." in html
    assert 'value="Typed Name"' in html and 'value="not-an-email"' in html


def test_a_coordinator_who_is_not_an_admin_cannot_add_coordinators(app, client):
    make_coordinator()
    sign_in(client)
    assert "Only an admin can add coordinators." in client.get("/coordinators").get_data(
        as_text=True
    )
    response = post_form(client, "/coordinators", {"email": "x@clinic.test"})
    assert response.status_code == 403
    assert db.session.scalar(db.select(db.func.count(Coordinator.id))) == 1


@pytest.mark.parametrize("admin_flag", [True, False])
def test_the_command_line_creates_a_coordinator_from_standard_input(app, runner, admin_flag):
    args = ["coordinators", "create", "cli@clinic.test", "--password-stdin"]
    result = runner.invoke(
        args=args + (["--admin"] if admin_flag else []), input="a password from stdin\n"
    )
    assert result.exit_code == 0, result.output
    made = db.session.scalar(db.select(Coordinator).filter_by(email="cli@clinic.test"))
    assert made.is_admin is admin_flag
    assert "a password from stdin" not in result.output


def test_the_command_line_asks_twice_for_the_password(app, runner):
    result = runner.invoke(
        args=["coordinators", "create", "ask@clinic.test"],
        input="prompted password 1\nprompted password 1\n",
    )
    assert result.exit_code == 0, result.output
    client = app.test_client()
    assert sign_in(client, "ask@clinic.test", "prompted password 1").status_code == 302


def test_the_command_line_refuses_a_short_password_and_a_second_account(app, runner):
    short = runner.invoke(
        args=["coordinators", "create", "a@clinic.test", "--password-stdin"], input="short\n"
    )
    assert short.exit_code != 0 and "at least 12" in short.output
    make_coordinator("b@clinic.test")
    again = runner.invoke(
        args=["coordinators", "create", "b@clinic.test", "--password-stdin"],
        input="long enough password\n",
    )
    assert again.exit_code != 0 and "already exists" in again.output


def test_an_admin_unlocks_a_locked_account(app, client):
    make_coordinator(admin=True)
    locked = make_coordinator("locked@clinic.test")
    locked.locked_until = utcnow() + timedelta(minutes=10)
    db.session.commit()
    sign_in(client)
    assert "Locked until" in client.get("/coordinators").get_data(as_text=True)
    response = post_form(client, f"/coordinators/{locked.id}/unlock", {}, page="/coordinators")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Coordinator, locked.id).locked_until is None
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="unlock"))


def test_only_an_admin_can_unlock(app, client):
    make_coordinator()
    other = make_coordinator("other@clinic.test")
    sign_in(client)
    response = post_form(client, f"/coordinators/{other.id}/unlock", {}, page="/inbox")
    assert response.status_code == 403


def test_production_adds_strict_transport_security(app, client):
    assert "Strict-Transport-Security" not in client.get("/sign-in").headers
    app.config["NAVIGATOR_ENV"] = "production"
    assert "max-age=" in client.get("/sign-in").headers["Strict-Transport-Security"]
