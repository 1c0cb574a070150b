"""The inbox (what needs a person, in order), marking done, the outbox and the audit page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from coordinator_support import make_coordinator, post_form, sign_in
from reminder_support import book_ct_and_tick

from navigator.extensions import db
from navigator.models import Alert, AuditEvent, Message, utcnow
from navigator.patients.enrolment import NewPatient, enroll


@pytest.fixture
def nurse(app, client):
    coordinator = make_coordinator()
    sign_in(client)
    return coordinator


@pytest.fixture
def patient(app):
    made = enroll(NewPatient("Ana Ruiz", "+16175550143", "en", "America/Chicago", "sms"))
    db.session.commit()
    return made


def test_warning_signs_come_first_then_voicemails_reschedules_and_failed_deliveries(
    app, client, nurse, patient
):
    now = utcnow()
    for minutes, kind in enumerate(
        ["delivery_failed", "reschedule", "callback", "voicemail", "red_flag"]
    ):
        db.session.add(
            Alert(
                kind=kind,
                phone=patient.phone,
                patient_id=patient.id,
                detail=f"detail-{kind}",
                created_at=now + timedelta(minutes=minutes),
            )
        )
    db.session.add(
        Alert(
            kind="red_flag",
            phone="+12025550111",
            detail="detail-stranger",
            created_at=now + timedelta(minutes=9),
        )
    )
    db.session.commit()
    html = client.get("/inbox").get_data(as_text=True)
    ids = {a.detail: a.id for a in db.session.scalars(db.select(Alert))}
    order = [
        html.index(f'id="item-{ids[f"detail-{k}"]}"')
        for k in ("red_flag", "stranger", "callback", "voicemail", "reschedule", "delivery_failed")
    ]
    assert order == sorted(order)
    assert "Unknown caller" in html


def test_closing_an_item_records_who_when_and_the_outcome_and_leaves_the_inbox(
    app, client, nurse, patient
):
    alert = Alert(kind="red_flag", phone=patient.phone, patient_id=patient.id, detail="fever")
    db.session.add(alert)
    db.session.commit()
    response = post_form(
        client,
        f"/inbox/{alert.id}/done",
        {"outcome": "sent_to_ed", "note": "Spoke with her daughter"},
        page="/inbox",
    )
    assert response.status_code == 302
    db.session.expire_all()
    done = db.session.get(Alert, alert.id)
    assert done.resolved_by_id == nurse.id
    assert utcnow() - done.resolved_at < timedelta(minutes=1)
    assert (done.outcome, done.outcome_note) == ("sent_to_ed", "Spoke with her daughter")
    html = client.get("/inbox").get_data(as_text=True)
    assert "closed by Nora Nurse" in html
    assert "Called, sent to the emergency department" in html
    assert f'id="item-{alert.id}"' not in html
    [event] = db.session.scalars(db.select(AuditEvent).filter_by(action="resolve_alert")).all()
    assert event.entity == "alert" and event.entity_id == alert.id
    assert event.coordinator_id == nurse.id and event.patient_id == patient.id
    assert "Spoke with her daughter" in event.detail


def test_marking_done_needs_the_csrf_token(app, client, nurse, patient):
    alert = Alert(kind="callback", phone=patient.phone, patient_id=patient.id)
    db.session.add(alert)
    db.session.commit()
    assert client.post(f"/inbox/{alert.id}/done").status_code == 400
    db.session.expire_all()
    assert db.session.get(Alert, alert.id).resolved_at is None


def test_the_outbox_lists_what_would_have_been_sent(app, client, nurse, patient):
    db.session.add_all(
        [
            Message(
                direction="out",
                phone=patient.phone,
                patient_id=patient.id,
                body="Outbox text",
                transport="outbox",
                status="queued",
            ),
            Message(
                direction="out",
                phone=patient.phone,
                patient_id=patient.id,
                body="Real text",
                transport="twilio",
                status="sent",
            ),
        ]
    )
    db.session.commit()
    html = client.get("/outbox").get_data(as_text=True)
    assert "Outbox text" in html and "Real text" not in html
    assert "without a Twilio account" in html


def test_the_outbox_shows_a_reminder_call_and_what_it_says_in_the_patients_language(
    app, client, nurse
):
    from html import unescape

    from navigator.reminders import keypad as reminder_keypad

    patient = enroll(NewPatient("Rosa Diaz", "+16175552150", "es", "America/New_York", "voice"))
    book_ct_and_tick(patient)
    [call] = db.session.scalars(db.select(Message).filter_by(channel="voice")).all()
    assert call.transport == "outbox" and call.body == ""
    html = unescape(client.get("/outbox").get_data(as_text=True))
    assert "<strong>Phone call</strong>, which says: " in html
    assert reminder_keypad.menu("es") in html
    assert reminder_keypad.menu("en") not in html


def test_the_audit_page_lists_who_changed_what_and_when(app, client, nurse, patient):
    alert = Alert(kind="callback", phone=patient.phone, patient_id=patient.id)
    db.session.add(alert)
    db.session.commit()
    post_form(client, f"/inbox/{alert.id}/done", {"outcome": "called_patient"}, page="/inbox")
    html = client.get("/audit").get_data(as_text=True)
    assert "closed an inbox item" in html and "nurse@clinic.test" in html and "sign in" in html


RECORDING_SID = "RE" + "ab" * 16


def _voicemail(patient, url):
    alert = Alert(
        kind="voicemail",
        phone=patient.phone,
        patient_id=patient.id,
        detail="recorded message",
        recording_url=url,
    )
    db.session.add(alert)
    db.session.commit()
    return alert


def test_a_coordinator_plays_a_voicemail_which_the_app_fetches_from_twilio(
    app, client, nurse, patient, fake_twilio
):
    fake_twilio.recordings[RECORDING_SID] = b"ID3 fake mp3 audio"
    # The stored URL names another host: only the recording's SID is taken from it.
    alert = _voicemail(
        patient, "https://elsewhere.example/2010-04-01/Accounts/ACx/Recordings/" + RECORDING_SID
    )
    page = client.get("/inbox").get_data(as_text=True)
    assert f'src="/inbox/{alert.id}/voicemail.mp3"' in page
    response = client.get(f"/inbox/{alert.id}/voicemail.mp3")
    assert response.status_code == 200 and response.mimetype == "audio/mpeg"
    assert response.data == b"ID3 fake mp3 audio"
    assert response.headers["Cache-Control"] == "no-store"
    assert db.session.scalar(
        db.select(AuditEvent).filter_by(action="listen_voicemail", entity_id=alert.id)
    )


def test_a_voicemail_twilio_cannot_give_says_why_and_nothing_breaks(
    app, client, nurse, patient, fake_twilio
):
    alert = _voicemail(
        patient, "https://api.twilio.com/2010-04-01/Accounts/ACx/Recordings/" + RECORDING_SID
    )
    fake_twilio.fail_next(500)
    failed = client.get(f"/inbox/{alert.id}/voicemail.mp3")
    assert failed.status_code == 502
    assert "Twilio did not give the recording (error 500)" in failed.get_data(as_text=True)
    gone = client.get(f"/inbox/{alert.id}/voicemail.mp3")  # the fake has no such recording
    assert gone.status_code == 404
    assert "Twilio no longer has this recording" in gone.get_data(as_text=True)
    assert client.get("/inbox").status_code == 200


def test_without_a_twilio_account_a_voicemail_says_where_it_would_be(app, client, nurse, patient):
    alert = _voicemail(
        patient, "https://api.twilio.com/2010-04-01/Accounts/ACx/Recordings/" + RECORDING_SID
    )
    response = client.get(f"/inbox/{alert.id}/voicemail.mp3")
    assert response.status_code == 404
    assert "no Twilio account is set up here" in response.get_data(as_text=True)
    assert client.get(f"/inbox/{alert.id + 99}/voicemail.mp3").status_code == 404


def test_a_pretend_voicemail_from_the_try_it_panel_says_it_has_no_recording(
    app, client, nurse, patient
):
    _voicemail(patient, "https://example.invalid/try-it-recording")
    page = client.get("/inbox").get_data(as_text=True)
    assert "Left in the try-it panel: there is no recording." in page
    assert "<audio" not in page


def test_a_long_inbox_is_paged_with_counts_and_each_group_says_where_its_items_are(
    app, client, nurse, patient, monkeypatch
):
    from navigator.coordinator import inbox

    monkeypatch.setattr(inbox, "PAGE_SIZE", 3)
    now = utcnow()
    kinds = ["red_flag"] * 2 + ["callback"] * 3 + ["delivery_failed"]
    for minutes, kind in enumerate(kinds):
        db.session.add(
            Alert(
                kind=kind,
                phone=patient.phone,
                patient_id=patient.id,
                detail=f"item-{minutes}",
                created_at=now - timedelta(minutes=60 - minutes),
            )
        )
    db.session.commit()
    ids = [a.id for a in db.session.scalars(db.select(Alert).order_by(Alert.created_at))]

    first = client.get("/inbox").get_data(as_text=True)
    second = client.get("/inbox?page=2").get_data(as_text=True)

    assert [f'id="item-{i}"' in first for i in ids] == [True] * 3 + [False] * 3
    assert [f'id="item-{i}"' in second for i in ids] == [False] * 3 + [True] * 3
    assert "Open items 1–3 of 6. Page 1 of 2" in first
    assert "Open items 4–6 of 6. Page 2 of 2" in second
    # Every group counts all its open items, on every page.
    assert 'Voicemails and callback requests <span class="count">(3)</span>' in first
    assert 'Voicemails and callback requests <span class="count">(3)</span>' in second
    assert "Items 1–1 of this group's 3 on this page; 2 on later pages." in first
    assert "Items 2–3 of this group's 3 on this page; 1 on earlier pages." in second
    # A group wholly on another page says where, with a link there.
    assert '1 item, from <a href="/inbox?page=2#group-delivery_failed">page 2' in first
    assert '2 items, from <a href="/inbox?page=1#group-red_flag">page 1' in second
    nav = first[first.index('<nav aria-label="Inbox pages"') :]
    assert 'href="/inbox?page=2" rel="next">Next page' in nav
    assert "Previous page" not in nav[: nav.index("</nav>")]
    assert 'href="/inbox?page=1" rel="prev">Previous page' in second
    # The count on the Inbox link is every open item, not the page's.
    assert client.get("/inbox/status").get_json()["open"] == 6
    # A page past the end shows the last page; a short inbox shows no pager.
    assert "Open items 4–6 of 6" in client.get("/inbox?page=9").get_data(as_text=True)
    monkeypatch.setattr(inbox, "PAGE_SIZE", 50)
    assert 'aria-label="Inbox pages"' not in client.get("/inbox").get_data(as_text=True)
