"""An inbox item a nurse can act on: the patient's words, owners, outcomes, undo, overdue."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import unescape

import pytest
from coordinator_support import make_coordinator, post_form, signed_in_nurse

from navigator.extensions import db
from navigator.models import Alert, Appointment, AuditEvent, Message, utcnow
from navigator.patients.enrolment import NewPatient, enroll

nurse = pytest.fixture(signed_in_nurse, name="nurse")

PHONE = "+16175552143"


@pytest.fixture
def patient(app):
    made = enroll(NewPatient("Rosa Hernández", PHONE, "es", "America/New_York", "voice"))
    db.session.commit()
    return made


def inbox(client) -> str:
    return unescape(client.get("/inbox").get_data(as_text=True))


def only_alert() -> Alert:
    [alert] = db.session.scalars(db.select(Alert)).all()
    return alert


def test_a_texted_warning_sign_shows_the_patients_words_who_they_are_and_the_answer(
    app, client, nurse, patient, twilio
):
    response = twilio.post(
        "/twilio/sms",
        {
            "MessageSid": "SM" + "5" * 32,
            "From": PHONE,
            "To": "+12025550100",
            "Body": "tengo fiebre",
        },
    )
    assert response.status_code == 200, response.data
    alert = only_alert()
    assert alert.kind == "red_flag" and alert.message_id
    html = inbox(client)
    assert "Warning sign reported: fever" in html
    assert "tengo fiebre" in html
    assert "Rosa Hernández" in html and "Spanish, prefers calls" in html
    assert "(617) 555-2143" in html
    answer = db.session.scalar(db.select(Message).filter_by(direction="out"))
    assert "The navigator answered:" in html and answer.body in html
    assert f"/patients/{patient.id}#msg-{alert.message_id}" in html
    page = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert f'id="msg-{alert.message_id}"' in page


def test_a_warning_sign_said_on_a_call_keeps_the_words_for_the_nurse_and_not_the_logs(
    app, client, nurse, patient, twilio, written_logs
):
    sid = "CA" + "4" * 32
    call = {"CallSid": sid, "From": PHONE, "To": "+12025550100", "CallStatus": "in-progress"}
    twilio.post("/twilio/voice", call)
    twilio.post(
        "/twilio/voice/choose",
        {**call, "SpeechResult": "I can't breathe well since this morning", "Confidence": "0.9"},
        query={"node": "main", "miss": "0"},
    )
    alert = only_alert()
    said = db.session.get(Message, alert.message_id)
    assert (said.channel, said.direction, said.patient_id) == ("voice", "in", patient.id)
    html = inbox(client)
    assert "I can't breathe well since this morning" in html
    assert "said on a call" in html
    spoken = app.extensions["content"].render(
        "redflags.breathing_chest.text", "es", program="x", care_team="(617) 555-0100"
    )
    assert "The navigator said on the call:" in html and spoken in html
    assert "breathe" not in written_logs.getvalue()


def test_a_reschedule_request_names_the_appointment_in_words_not_an_id(app, client, nurse, patient):
    appointment = Appointment(
        patient_id=patient.id,
        kind="biopsy",
        starts_at=datetime(2027, 1, 12, 14, 0),  # 9:00 in New York
        timezone="America/New_York",
        location="Main St clinic",
    )
    db.session.add(appointment)
    db.session.flush()
    db.session.add(
        Alert(
            kind="reschedule",
            phone=PHONE,
            patient_id=patient.id,
            appointment_id=appointment.id,
            detail="new time asked by sms",
        )
    )
    db.session.commit()
    html = inbox(client)
    assert "Biopsy, Tue 12 Jan 09:00, Main St clinic" in html
    assert f"appointment {appointment.id}" not in html


def raise_fever(patient, minutes_ago=0) -> Alert:
    alert = Alert(
        kind="red_flag",
        phone=PHONE,
        patient_id=patient.id,
        detail="fever",
        created_at=utcnow() - timedelta(minutes=minutes_ago),
    )
    db.session.add(alert)
    db.session.commit()
    return alert


def test_taking_an_item_shows_who_has_it_and_is_audited(app, client, nurse, patient):
    alert = raise_fever(patient)
    assert "Nobody has taken this yet." in inbox(client)
    post_form(client, f"/inbox/{alert.id}/claim", {}, page="/inbox")
    db.session.expire_all()
    assert db.session.get(Alert, alert.id).owner_id == nurse.id
    assert "With <strong>Nora Nurse</strong>" in inbox(client)
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="claim_alert"))
    assert event.patient_id == patient.id


def test_an_item_can_be_given_to_a_colleague(app, client, nurse, patient):
    colleague = make_coordinator("sam@clinic.test", name="Sam Lee")
    alert = raise_fever(patient)
    post_form(client, f"/inbox/{alert.id}/claim", {"owner": str(colleague.id)}, page="/inbox")
    db.session.expire_all()
    assert db.session.get(Alert, alert.id).owner_id == colleague.id
    html = inbox(client)
    assert "With <strong>Sam Lee</strong>" in html
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="assign_alert"))


def test_closing_without_an_outcome_is_refused_and_changes_nothing(app, client, nurse, patient):
    alert = raise_fever(patient)
    response = post_form(client, f"/inbox/{alert.id}/done", {"note": "x"}, page="/inbox")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Alert, alert.id).resolved_at is None
    assert "Choose what was done" in inbox(client)


def test_the_outcome_and_note_go_on_the_patients_timeline(app, client, nurse, patient):
    alert = raise_fever(patient)
    post_form(
        client,
        f"/inbox/{alert.id}/done",
        {"outcome": "care_team", "note": "Dr Patel will call her"},
        page="/inbox",
    )
    page = unescape(client.get(f"/patients/{patient.id}").get_data(as_text=True))
    assert "Nora Nurse: closed an inbox item" in page
    assert "Passed to the doctor or care team. Note: Dr Patel will call her" in page


def test_an_item_closed_today_can_be_reopened_and_comes_back(app, client, nurse, patient):
    alert = raise_fever(patient)
    post_form(client, f"/inbox/{alert.id}/done", {"outcome": "no_action"}, page="/inbox")
    assert f'id="item-{alert.id}"' not in inbox(client)
    post_form(client, f"/inbox/{alert.id}/reopen", {}, page="/inbox")
    db.session.expire_all()
    reopened = db.session.get(Alert, alert.id)
    assert reopened.resolved_at is None and reopened.outcome is None
    assert f'id="item-{alert.id}"' in inbox(client)
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="reopen_alert"))


def test_an_item_closed_on_an_earlier_day_cannot_be_reopened(app, client, nurse, patient):
    alert = raise_fever(patient)
    alert.resolved_at = utcnow() - timedelta(days=2)
    alert.resolved_by_id = nurse.id
    db.session.commit()
    assert f"/inbox/{alert.id}/reopen" not in inbox(client)
    post_form(client, f"/inbox/{alert.id}/reopen", {}, page="/inbox")
    db.session.expire_all()
    assert db.session.get(Alert, alert.id).resolved_at is not None


def test_a_warning_sign_nobody_took_in_time_is_shown_overdue(app, client, nurse, patient):
    app.config["WARNING_SIGN_OVERDUE_MINUTES"] = 10
    late = raise_fever(patient, minutes_ago=11)
    fresh = raise_fever(patient, minutes_ago=2)
    html = inbox(client)
    assert f'class="item item--overdue" id="item-{late.id}"' in html
    assert f'class="item" id="item-{fresh.id}"' in html
    assert "Overdue: nobody took it within 10 minutes" in html
    post_form(client, f"/inbox/{late.id}/claim", {}, page="/inbox")
    assert "item--overdue" not in inbox(client)


def test_without_a_care_team_line_the_fever_reply_names_a_fictional_number_not_the_navigator(
    app, twilio
):
    from twiml_helpers import parse

    from navigator.core.phones import for_humans, is_fictional

    app.config["CARE_TEAM_PHONE"] = ""  # the embedded mode's default
    response = twilio.post(
        "/twilio/sms",
        {"MessageSid": "SM" + "6" * 32, "From": PHONE, "To": "+12025550100", "Body": "fever"},
    )
    reply = " ".join(m.text or "" for m in parse(response.data).iter("Message"))
    assert "(312) 555-0199" in reply and is_fictional("+13125550199")
    assert for_humans(app.config["TWILIO_PHONE_NUMBER"]) not in reply


@pytest.mark.parametrize("page", ["/inbox", "/patients", "/audit", "/patients/new", "/account"])
def test_every_page_shows_the_open_count_on_the_inbox_link_and_in_its_title(
    app, client, nurse, patient, page
):
    raise_fever(patient)
    raise_fever(patient)
    html = client.get(page).get_data(as_text=True)
    assert "<title>(2) " in html
    assert '<span class="badge">2</span><span class="visually-hidden"> open items</span>' in html


def test_with_nothing_open_no_count_is_shown(app, client, nurse):
    html = client.get("/patients").get_data(as_text=True)
    assert "<title>(" not in html and "data-inbox-count hidden" in html


def test_the_inbox_status_gives_counts_and_no_patient_data(app, client, nurse, patient):
    first = raise_fever(patient)
    db.session.add(Alert(kind="callback", phone=PHONE, patient_id=patient.id))
    db.session.commit()
    response = client.get("/inbox/status")
    assert response.get_json() == {"open": 2, "newest_warning_sign": first.id}
    assert "Hern" not in response.get_data(as_text=True)


def test_the_inbox_polling_does_not_keep_an_idle_session_alive(app, client, nurse):
    from navigator.coordinator import sessions

    seen = (utcnow() - timedelta(minutes=29)).isoformat()
    with client.session_transaction() as cookie:
        cookie[sessions.SEEN] = seen
    assert client.get("/inbox/status").status_code == 200
    with client.session_transaction() as cookie:
        assert cookie[sessions.SEEN] == seen


def test_the_inbox_polling_of_an_idle_or_signed_out_session_gets_a_bare_401(app, client, nurse):
    from navigator.coordinator import sessions

    with client.session_transaction() as cookie:
        cookie[sessions.SEEN] = (utcnow() - timedelta(minutes=31)).isoformat()
    assert client.get("/inbox/status").status_code == 401
    response = client.get("/patients")  # the next page the nurse opens signs them out
    assert response.headers["Location"] == "/sign-in?next=/patients"
    assert app.test_client().get("/inbox/status").status_code == 401
