"""A coordinator's own account, and an admin switching accounts off and on."""

from __future__ import annotations

from coordinator_support import PASSWORD, make_coordinator, post_form, sign_in

from navigator.extensions import db
from navigator.models import AuditEvent, Coordinator

NEW = "a brand new long password"


def _change_password(client, current=PASSWORD, new=NEW, confirm=None):
    return post_form(
        client,
        "/account/password",
        {"current": current, "password": new, "confirm": confirm or new},
        page="/account",
    )


def test_a_coordinator_changes_their_password_and_signs_in_with_the_new_one(app, client):
    coordinator = make_coordinator()
    sign_in(client)
    response = _change_password(client)
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert client.get("/inbox").status_code == 200  # this browser stays signed in
    assert db.session.scalar(
        db.select(AuditEvent).filter_by(action="change_password", entity_id=coordinator.id)
    )
    assert sign_in(app.test_client(), password=PASSWORD).status_code == 422
    assert sign_in(app.test_client(), password=NEW).status_code == 302


def test_a_new_password_signs_out_every_other_browser(app, client):
    make_coordinator()
    sign_in(client)
    elsewhere = app.test_client()
    sign_in(elsewhere)
    assert elsewhere.get("/inbox").status_code == 200
    _change_password(client)
    assert elsewhere.get("/inbox").headers["Location"].startswith("/sign-in")


def test_the_wrong_current_password_changes_nothing_and_says_so(app, client):
    coordinator = make_coordinator()
    sign_in(client)
    before = coordinator.password_hash
    response = _change_password(client, current="not my password at all")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This is not your current password." in html
    db.session.expire_all()
    assert db.session.get(Coordinator, coordinator.id).password_hash == before


def test_a_short_or_mistyped_new_password_is_refused_next_to_the_field(app, client):
    make_coordinator()
    sign_in(client)
    short = _change_password(client, new="short")
    assert short.status_code == 422 and "Use at least 12 characters." in short.get_data(
        as_text=True
    )
    mistyped = _change_password(client, confirm="a brand new long passwerd")
    assert "The two passwords are not the same." in mistyped.get_data(as_text=True)
    assert sign_in(app.test_client()).status_code == 302  # the old one still works


def test_a_coordinator_chooses_the_zone_their_times_are_shown_in(app, client):
    coordinator = make_coordinator(timezone="America/New_York")
    sign_in(client)
    response = post_form(
        client, "/account/time-zone", {"timezone": "America/Los_Angeles"}, page="/account"
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Coordinator, coordinator.id).timezone == "America/Los_Angeles"
    assert "Times are shown in America/Los_Angeles" in client.get("/inbox").get_data(as_text=True)
    bad = post_form(client, "/account/time-zone", {"timezone": "Mars/Olympus"}, page="/account")
    assert bad.status_code == 422


def test_an_admin_deactivates_an_account_which_is_signed_out_at_once(app, client):
    make_coordinator("admin@clinic.test", admin=True)
    leaving = make_coordinator("leaving@clinic.test")
    theirs = app.test_client()
    sign_in(theirs, "leaving@clinic.test")
    assert theirs.get("/patients").status_code == 200
    sign_in(client, "admin@clinic.test")
    response = post_form(client, f"/coordinators/{leaving.id}/deactivate", {}, page="/coordinators")
    assert response.status_code == 302
    assert theirs.get("/patients").headers["Location"].startswith("/sign-in")
    assert sign_in(app.test_client(), "leaving@clinic.test").status_code == 422
    assert "Inactive" in client.get("/coordinators").get_data(as_text=True)
    assert db.session.scalar(
        db.select(AuditEvent).filter_by(action="deactivate", entity_id=leaving.id)
    )
    post_form(client, f"/coordinators/{leaving.id}/reactivate", {}, page="/coordinators")
    assert sign_in(app.test_client(), "leaving@clinic.test").status_code == 302


def test_only_an_admin_deactivates_and_never_their_own_account(app, client):
    admin = make_coordinator("admin@clinic.test", admin=True)
    other = make_coordinator("other@clinic.test")
    sign_in(client, "other@clinic.test")
    assert (
        post_form(client, f"/coordinators/{admin.id}/deactivate", {}, page="/inbox").status_code
        == 403
    )
    admin_client = app.test_client()
    sign_in(admin_client, "admin@clinic.test")
    assert (
        post_form(
            admin_client, f"/coordinators/{admin.id}/deactivate", {}, page="/inbox"
        ).status_code
        == 403
    )
    db.session.expire_all()
    assert db.session.get(Coordinator, admin.id).active
    assert db.session.get(Coordinator, other.id).active


def test_it_resets_a_password_from_the_command_line_and_lifts_the_lock(app, runner):
    from datetime import timedelta

    from navigator.models import utcnow

    coordinator = make_coordinator()
    coordinator.locked_until = utcnow() + timedelta(minutes=10)
    db.session.commit()
    result = runner.invoke(
        args=["coordinators", "set-password", "Nurse@clinic.test", "--password-stdin"],
        input=NEW + "\n",
    )
    assert result.exit_code == 0, result.output
    assert NEW not in result.output
    assert sign_in(app.test_client(), password=NEW).status_code == 302
    unknown = runner.invoke(
        args=["coordinators", "set-password", "nobody@clinic.test", "--password-stdin"],
        input=NEW + "\n",
    )
    assert unknown.exit_code != 0 and "no coordinator" in unknown.output


TEMPORARY = "temporary password 4821"


def _set_temporary(client, coordinator_id, password=TEMPORARY, confirm=None):
    return post_form(
        client,
        f"/coordinators/{coordinator_id}/password",
        {"password": password, "confirm": confirm or password},
    )


def test_an_admin_sets_a_temporary_password_which_ends_the_others_sessions_and_lock(
    app, client, written_logs
):
    from datetime import timedelta

    from navigator.models import utcnow

    make_coordinator("admin@clinic.test", admin=True)
    forgetful = make_coordinator("forgetful@clinic.test")
    theirs = app.test_client()
    sign_in(theirs, "forgetful@clinic.test")
    forgetful.locked_until = utcnow() + timedelta(minutes=10)
    db.session.commit()
    sign_in(client, "admin@clinic.test")
    assert f"/coordinators/{forgetful.id}/password" in client.get("/coordinators").get_data(
        as_text=True
    )
    response = _set_temporary(client, forgetful.id)
    assert response.status_code == 302 and response.headers["Location"] == "/coordinators"
    assert theirs.get("/inbox").headers["Location"].startswith("/sign-in")
    db.session.expire_all()
    assert db.session.get(Coordinator, forgetful.id).locked_until is None
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="set_temporary_password"))
    assert event.entity_id == forgetful.id and event.coordinator_id != forgetful.id
    assert TEMPORARY not in event.detail and TEMPORARY not in written_logs.getvalue()


def test_a_temporary_password_must_be_replaced_before_any_other_page_opens(app, client):
    admin_client = app.test_client()
    make_coordinator("admin@clinic.test", admin=True)
    forgetful = make_coordinator("forgetful@clinic.test")
    sign_in(admin_client, "admin@clinic.test")
    _set_temporary(admin_client, forgetful.id)

    response = sign_in(client, "forgetful@clinic.test", TEMPORARY)
    assert response.headers["Location"] == "/account"
    account = client.get("/account").get_data(as_text=True)
    assert "An admin gave you a temporary password." in account
    for page in ("/inbox", "/patients", "/coordinators"):
        assert client.get(page).headers["Location"] == "/account", page
    same = _change_password(client, current=TEMPORARY, new=TEMPORARY)
    assert same.status_code == 422
    assert "Choose a password different from the current one." in same.get_data(as_text=True)
    assert _change_password(client, current=TEMPORARY).status_code == 302
    assert client.get("/inbox").status_code == 200
    assert sign_in(app.test_client(), "forgetful@clinic.test", NEW).headers["Location"] == "/inbox"


def test_only_an_admin_sets_temporary_passwords_and_never_their_own(app, client):
    admin = make_coordinator("admin@clinic.test", admin=True)
    other = make_coordinator("other@clinic.test")
    sign_in(client, "other@clinic.test")
    assert client.get(f"/coordinators/{admin.id}/password").status_code == 403
    admin_client = app.test_client()
    sign_in(admin_client, "admin@clinic.test")
    assert admin_client.get(f"/coordinators/{admin.id}/password").status_code == 403
    assert admin_client.get(f"/coordinators/{other.id}/password").status_code == 200
    assert admin_client.get("/coordinators/999/password").status_code == 404


def test_a_short_or_mistyped_temporary_password_is_refused_next_to_the_field(app, client):
    make_coordinator("admin@clinic.test", admin=True)
    other = make_coordinator("other@clinic.test")
    sign_in(client, "admin@clinic.test")
    short = _set_temporary(client, other.id, password="short")
    assert short.status_code == 422
    assert "Use at least 12 characters." in short.get_data(as_text=True)
    mistyped = _set_temporary(client, other.id, confirm="temporary password 4822")
    assert "The two passwords are not the same." in mistyped.get_data(as_text=True)
    assert sign_in(app.test_client(), "other@clinic.test").status_code == 302  # unchanged
