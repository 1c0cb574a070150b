"""Signing in, the failed sign-in limit, sessions, CSRF, headers, and who may reach what."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from coordinator_support import PASSWORD, csrf_token, make_coordinator, post_form, sign_in

from navigator import config
from navigator.config import ConfigError
from navigator.coordinator import sessions
from navigator.coordinator.auth import LOCKED, WRONG
from navigator.extensions import db
from navigator.models import AuditEvent, Coordinator, SignInCounter, utcnow

LOCKED_15 = LOCKED.format(minutes=15)


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
        if url == "/inbox/status":  # a page's script, not a page: refused outright
            assert response.status_code == 401 and not response.data
            continue
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


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example",  # browsers drop the tab: //evil.example
        "/\r\n/x",  # a header split; it used to crash
        "/\\evil.example",  # browsers read \\ as /
        "/ /evil.example",
        "//evil.example/",
        "https://evil.example/",
        "javascript:alert(1)",
        "evil.example",
        "/\x7f/evil.example",
    ],
)
def test_after_sign_in_a_next_address_that_could_leave_the_site_goes_to_the_inbox(
    app, client, target
):
    make_coordinator()
    token = csrf_token(client, "/sign-in")
    response = client.post(
        "/sign-in?next=" + quote(target, safe=""),
        data={"email": "nurse@clinic.test", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/inbox"


def test_after_sign_in_a_page_on_this_site_with_its_query_is_kept(app, client):
    make_coordinator()
    token = csrf_token(client, "/sign-in")
    response = client.post(
        "/sign-in?next=" + quote("/audit?page=2", safe=""),
        data={"email": "nurse@clinic.test", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/audit?page=2"


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
    assert LOCKED_15 in fifth.get_data(as_text=True)
    right = sign_in(client)
    assert right.status_code == 422
    assert LOCKED_15 in right.get_data(as_text=True)
    assert client.get("/inbox").status_code == 302
    db.session.refresh(coordinator)
    assert coordinator.locked_until > utcnow() + timedelta(minutes=14)
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="lock"))


def _messages(client, email, tries):
    """What the sign-in page says to each of ``tries`` wrong passwords for ``email``."""
    said = []
    for _ in range(tries):
        html = sign_in(client, email=email, password="nope nope nope").get_data(as_text=True)
        said.append(WRONG if WRONG in html else LOCKED_15 if LOCKED_15 in html else html)
    return said


def test_a_locked_account_and_an_unknown_email_are_told_exactly_the_same(app, client):
    make_coordinator()
    known = _messages(client, "nurse@clinic.test", 6)
    unknown = _messages(app.test_client(), "nobody@clinic.test", 6)
    assert known == unknown == [WRONG] * 4 + [LOCKED_15] * 2


def test_an_unknown_email_is_locked_too_and_its_lock_ends_after_its_minutes(app, client):
    _messages(client, "nobody@clinic.test", 5)
    assert _messages(client, "nobody@clinic.test", 1) == [LOCKED_15]
    for counter in db.session.scalars(db.select(SignInCounter)):  # 16 minutes pass
        if counter.locked_until:
            counter.locked_until -= timedelta(minutes=16)
        counter.updated_at -= timedelta(minutes=16)
    db.session.commit()
    assert _messages(client, "nobody@clinic.test", 1) == [WRONG]


def test_one_client_trying_many_emails_is_stopped_even_with_a_right_password(app, client):
    app.config["COORDINATOR_MAX_FAILED_SIGN_INS_PER_CLIENT"] = 3
    make_coordinator()
    for n in range(3):
        sign_in(client, email=f"guess{n}@clinic.test", password="nope nope nope")
    refused = sign_in(client)
    assert refused.status_code == 422 and LOCKED_15 in refused.get_data(as_text=True)
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert sign_in(elsewhere).headers["Location"] == "/inbox"


def test_failed_sign_ins_are_audited_without_the_email_typed_or_the_address(app, client):
    sign_in(client, email="someone.unknown@clinic.test", password="nope nope nope")
    [event] = db.session.scalars(db.select(AuditEvent).filter_by(action="sign_in_failed"))
    assert event.coordinator_id is None
    assert "someone" not in event.detail and "127.0.0.1" not in event.detail


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
    assert LOCKED.format(minutes=3) in response.get_data(as_text=True)


def test_a_form_without_its_csrf_token_is_rejected(app, client):
    make_coordinator()
    response = client.post("/sign-in", data={"email": "nurse@clinic.test", "password": PASSWORD})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    sign_in(client)
    response = client.post("/patients/new", data={"name": "Ann"})
    assert response.status_code == 400


def test_a_form_opened_before_signing_out_explains_how_to_send_it_again(app, client):
    make_coordinator()
    sign_in(client)
    old_token = csrf_token(client, "/patients/new")
    post_form(client, "/sign-out", {}, page="/inbox")
    sign_in(client)
    response = client.post("/patients/new", data={"name": "Ann", "csrf_token": old_token})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This form has expired" in html
    assert "Nothing was saved." in html and "send it again" in html
    assert 'href="/"' in html  # a way on, not a bare error


def test_csrf_tokens_last_as_long_as_the_session_with_no_clock_of_their_own(app):
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None


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


def test_a_copy_of_the_cookie_taken_before_sign_out_opens_nothing_after_it(app, client):
    make_coordinator()
    sign_in(client)
    copied = client.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/inbox").status_code == 200
    post_form(client, "/sign-out", {}, page="/inbox")
    assert thief.get("/inbox").headers["Location"].startswith("/sign-in")
    assert thief.get("/patients/new").headers["Location"].startswith("/sign-in")
    sign_in(client)  # signing in again starts a new session that works
    assert client.get("/inbox").status_code == 200
    assert thief.get("/inbox").status_code == 302


def _last_request_was(client, minutes_ago):
    with client.session_transaction() as cookie:
        cookie[sessions.SEEN] = (utcnow() - timedelta(minutes=minutes_ago)).isoformat()


def test_after_30_idle_minutes_the_next_page_asks_to_sign_in_then_returns_there(app, client):
    make_coordinator()
    sign_in(client)
    _last_request_was(client, 29)
    assert client.get("/patients").status_code == 200  # and that request counts as use
    _last_request_was(client, 31)
    response = client.get("/audit?page=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in?next=/audit?page%3D1"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "signed out after 30 minutes without using the app" in page
    assert client.get("/inbox").status_code == 302  # the idle session is over
    token = csrf_token(client, response.headers["Location"])
    back = client.post(
        response.headers["Location"],
        data={"email": "nurse@clinic.test", "password": PASSWORD, "csrf_token": token},
    )
    assert back.headers["Location"] == "/audit?page=1"


def test_a_form_sent_after_the_idle_time_returns_to_the_form_page_after_sign_in(app, client):
    make_coordinator()
    sign_in(client)
    token = csrf_token(client, "/patients/new")
    _last_request_was(client, 45)
    response = client.post(
        "/patients/new",
        data={"name": "Ann", "csrf_token": token},
        headers={"Referer": "http://localhost/patients/new"},
    )
    assert response.headers["Location"] == "/sign-in?next=/patients/new"


def test_the_idle_time_comes_from_the_settings(app, client):
    app.config["SESSION_IDLE_MINUTES"] = 5
    make_coordinator()
    sign_in(client)
    _last_request_was(client, 6)
    assert client.get("/inbox").headers["Location"].startswith("/sign-in")


@pytest.mark.parametrize(
    "name,value", [("SESSION_IDLE_MINUTES", "0"), ("SITE_TIMEZONE", "Mars/Base")]
)
def test_a_bad_session_or_site_setting_stops_start_up_naming_it(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        config.load({name: value}, str(tmp_path))


def test_session_and_site_settings_have_working_defaults(tmp_path):
    settings = config.load({}, str(tmp_path))
    assert settings["SESSION_IDLE_MINUTES"] == 30
    assert settings["SITE_TIMEZONE"] == "America/New_York"


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
