"""Enrolment with recorded consent, the opt-in text, and the patient page's timeline."""

from __future__ import annotations

import html as markup
import itertools
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from coordinator_support import CONSENT, make_coordinator, post_form, sign_in

from navigator.extensions import db
from navigator.models import (
    Alert,
    AuditEvent,
    Caregiver,
    Consent,
    Contact,
    Message,
    Patient,
    PatientEvent,
    utcnow,
)
from navigator.patients import appointments

VALID = {
    "name": "Ana Ruiz",
    "phone": "(617) 555-0143",
    "language": "en",
    "channel": "sms",
    "timezone": "America/Chicago",
    "quiet_start": "21:00",
    "quiet_end": "08:00",
    "detailed_texts": "no",
    "caregiver_scope": "reminders",
    **CONSENT,
}


@pytest.fixture
def signed_in(app, client):
    coordinator = make_coordinator(timezone="America/New_York")
    sign_in(client)
    return coordinator


def enroll(client, **changes):
    return post_form(client, "/patients/new", {**VALID, **changes})


def search(client, words: str):
    """Search the patient list as the page does: a POST, then the results as a GET."""
    return post_form(client, "/patients", {"q": words}, follow_redirects=True)


def count(model) -> int:
    return db.session.scalar(db.select(db.func.count(model.id)))


def test_enrolling_saves_the_patient_consent_and_caregiver_and_texts_the_confirmation(
    app, client, signed_in
):
    response = enroll(client, caregiver_phone="617-555-0177", caregiver_name="Luis")
    assert response.status_code == 302
    patient = db.session.scalar(db.select(Patient))
    assert response.headers["Location"] == f"/patients/{patient.id}"
    assert (patient.phone, patient.timezone, patient.channel) == (
        "+16175550143",
        "America/Chicago",
        "sms",
    )
    assert (patient.quiet_start, patient.quiet_end) == ("21:00", "08:00")
    consent = db.session.scalar(db.select(Consent))
    assert consent.obtained_by == "Nora Nurse" and consent.method == "in person"
    # 10:15 in the coordinator's zone (New York, EST) is 15:15 UTC.
    assert consent.obtained_at.strftime("%Y-%m-%d %H:%M") == "2026-11-20 15:15"
    assert len(consent.disclosures.splitlines()) == 6
    assert "STOP" in consent.disclosures and "HELP" in consent.disclosures
    caregiver = db.session.scalar(db.select(Caregiver))
    assert (caregiver.phone, caregiver.scope, caregiver.name) == (
        "+16175550177",
        "reminders",
        "Luis",
    )
    text = db.session.scalar(db.select(Message).filter_by(direction="out"))
    assert text.phone == "+16175550143" and text.transport == "outbox"
    assert text.content_key == "prompts.sms.start"
    assert text.body.startswith("Hope Clinic Navigator")
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="enroll"))
    assert (event.entity, event.entity_id, event.coordinator_id) == (
        "patient",
        patient.id,
        signed_in.id,
    )
    assert "caregiver" in event.detail and "617" not in event.detail


def test_a_caregiver_who_lives_elsewhere_is_enrolled_with_their_own_time_zone(
    app, client, signed_in
):
    enroll(client, caregiver_phone="310-555-0177", caregiver_timezone="America/Los_Angeles")
    caregiver = db.session.scalar(db.select(Caregiver))
    assert caregiver.timezone == "America/Los_Angeles"
    patient = db.session.scalar(db.select(Patient))
    page = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "lives in America/Los_Angeles" in page


def test_a_caregiver_by_default_keeps_the_patients_time_zone(app, client, signed_in):
    enroll(client, caregiver_phone="617-555-0177")
    assert db.session.scalar(db.select(Caregiver)).timezone is None


def test_enrolling_logs_ids_only_never_the_name_or_number(app, client, signed_in, written_logs):
    enroll(client, caregiver_phone="617-555-0177", caregiver_name="Luis")
    logged = written_logs.getvalue()
    assert "enrolled patient" in logged
    for private in ("Ana", "Ruiz", "Luis", "555-01", "55501", "0143", "0177"):
        assert private not in logged


def test_a_spanish_speaker_gets_the_confirmation_in_spanish(app, client, signed_in):
    from navigator.catalog import catalog

    enroll(client, language="es")
    text = db.session.scalar(db.select(Message).filter_by(direction="out"))
    assert text.body == catalog().render("prompts.sms.start", "es", program="Hope Clinic Navigator")
    assert text.body != catalog().render("prompts.sms.start", "en", program="Hope Clinic Navigator")


def test_an_invalid_number_is_refused_next_to_the_field_and_the_typing_is_kept(
    app, client, signed_in
):
    response = enroll(client, phone="555-12", name="Typed Name")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This is not a valid phone number." in html
    assert 'id="phone-error"' in html and 'aria-describedby="phone-error"' in html
    assert 'aria-invalid="true"' in html and 'role="alert"' in html
    assert 'value="Typed Name"' in html and 'value="555-12"' in html
    assert 'value="America/Chicago" selected' in html or 'selected value="America/Chicago"' in html
    assert count(Patient) == 0 and count(Message) == 0


def test_a_number_already_enrolled_is_refused_with_a_clear_message(app, client, signed_in):
    enroll(client)
    response = enroll(client, name="Someone Else", phone="+1 617 555 0143")
    assert response.status_code == 422
    assert "This number is already enrolled" in response.get_data(as_text=True)
    assert count(Patient) == 1 and count(Consent) == 1


def test_every_disclosure_must_be_ticked(app, client, signed_in):
    data = {k: v for k, v in VALID.items() if k != "told_rates"}
    response = post_form(client, "/patients/new", data)
    assert response.status_code == 422
    assert "Tell the patient this and tick the box before saving." in response.get_data(
        as_text=True
    )
    assert count(Patient) == 0


def test_detailed_texts_need_the_warning_that_texts_are_not_secure_and_how_it_was_chosen(
    app, client, signed_in
):
    response = enroll(client, detailed_texts="yes")
    html = response.get_data(as_text=True)
    assert "Detailed texts need the patient to be told texts are not secure." in html
    assert "Say how the patient chose detailed texts." in html
    assert count(Patient) == 0
    enroll(
        client,
        detailed_texts="yes",
        detailed_told_not_secure="y",
        detailed_how="said so at the clinic",
    )
    patient = db.session.scalar(db.select(Patient))
    assert patient.detailed_texts and patient.detailed_texts_at is not None
    assert "said so at the clinic" in patient.detailed_texts_how
    assert "not secure" in patient.detailed_texts_how


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("name", "", "Enter the patient's name."),
        ("quiet_start", "9pm", "Enter a time like 09:30 or 14:30"),
        ("consent_date", "yesterday", "Enter a date like 2026-12-01."),
        ("timezone", "Mars/Olympus", "Choose a time zone from the list"),
        ("caregiver_phone", "12", "This is not a valid phone number."),
        ("caregiver_timezone", "Mars/Olympus", "Choose a time zone from the list"),
        ("consent_obtained_by", "", "Enter who obtained consent."),
    ],
)
def test_each_field_is_checked_on_the_server(app, client, signed_in, field, value, message):
    response = enroll(client, **{field: value})
    assert response.status_code == 422
    assert message in markup.unescape(response.get_data(as_text=True))
    assert count(Patient) == 0


def test_consent_cannot_be_dated_in_the_future(app, client, signed_in):
    future = (utcnow() + timedelta(days=3)).date().isoformat()
    assert "Consent cannot be dated in the future." in enroll(client, consent_date=future).get_data(
        as_text=True
    )


def test_nothing_is_half_saved_when_enrolment_fails_part_way(app, client, signed_in, monkeypatch):
    from navigator.coordinator import patient_pages as views

    def broken(*args, **kwargs):
        raise RuntimeError("the audit write failed")

    monkeypatch.setattr(views, "record", broken)
    with pytest.raises(RuntimeError):
        enroll(client, caregiver_phone="617-555-0177")
    db.session.rollback()
    assert count(Patient) == count(Consent) == count(Caregiver) == count(Message) == 0


def test_a_number_that_texted_stop_is_enrolled_but_not_texted(app, client, signed_in):
    db.session.add(Contact(phone="+16175550143", opted_out_at=utcnow()))
    db.session.commit()
    response = enroll(client)
    assert response.status_code == 302
    assert count(Patient) == 1 and count(Message) == 0
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "no confirmation was sent" in page


def test_a_failed_confirmation_keeps_the_enrolment_and_lands_in_the_inbox(
    app, client, signed_in, fake_twilio
):
    # Twilio refuses the opt-in text: 21610, the number has unsubscribed at the carrier. (A
    # real-looking number: texts to 555-01xx practice numbers never leave the outbox.)
    fake_twilio.fail_for("+16172530143", 400, 21610)
    response = enroll(client, phone="(617) 253-0143")
    assert response.status_code == 302
    assert count(Patient) == 1
    [refused] = fake_twilio.received
    assert (refused.kind, refused.to, refused.sid) == ("sms", "+16172530143", None)
    alert = db.session.scalar(db.select(Alert))
    assert alert.kind == "delivery_failed"
    message = db.session.get(Message, alert.message_id)
    assert message.status == "failed" and message.content_key == "prompts.sms.start"


def test_the_patient_page_shows_the_timeline_in_the_coordinators_zone(
    app, client, signed_in, twilio
):
    enroll(client)
    patient = db.session.scalar(db.select(Patient))
    at = (utcnow() - timedelta(days=1)).replace(hour=15, minute=30, second=0, microsecond=0)
    db.session.add_all(
        [
            Message(
                direction="in",
                channel="sms",
                phone=patient.phone,
                patient_id=patient.id,
                body="I have a new pain in my back",
                status="received",
                created_at=at,
            ),
            Message(
                direction="out",
                channel="sms",
                phone=patient.phone,
                patient_id=patient.id,
                body="Reminder: your visit",
                status="delivered",
                transport="twilio",
                created_at=at + timedelta(minutes=1),
            ),
            Alert(
                kind="red_flag",
                phone=patient.phone,
                patient_id=patient.id,
                detail="bone-pain",
                created_at=at + timedelta(minutes=3),
            ),
        ]
    )
    db.session.commit()
    text(twilio, "STOP")
    text(twilio, "START")
    html = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    for words in (
        "I have a new pain in my back",
        "Text from patient",
        "Reminder: your visit",
        "delivered",
        "Warning sign reported",
        "Opted out of texts and calls (STOP)",
        "Opted back in to texts (START)",
        "Agreed to texts at enrolment (consent recorded)",
        "Nora Nurse: enrolled the patient",
    ):
        assert words in html, words
    zone = "EST" if at.month in (1, 2, 3, 11, 12) else "EDT"
    assert f"10:30 {zone}" in html or f"11:30 {zone}" in html
    stop = db.session.scalar(db.select(PatientEvent).filter_by(kind="opted_out"))
    assert in_new_york(stop.created_at) in html
    assert html.index("Opted back in") < html.index("I have a new pain")  # newest first


# -- the timeline keeps everything, in order ---------------------------------------------

_sids = itertools.count(1)


def text(twilio, body: str, phone: str = "+16175550143") -> None:
    """The patient texts the navigator, through the signed webhook as Twilio posts it."""
    response = twilio.post(
        "/twilio/sms",
        {
            "MessageSid": f"SM{next(_sids):032d}",
            "AccountSid": "AC" + "0" * 32,
            "From": phone,
            "To": "+12025550100",
            "Body": body,
        },
    )
    assert response.status_code == 200


def call(twilio, path: str, sid: str, **fields):
    """One step of a call to the navigator, signed as Twilio signs it."""
    data = {
        "CallSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": "+16175550143",
        "To": "+12025550100",
        "CallStatus": "in-progress",
        **fields,
    }
    response = twilio.post(path, data)
    assert response.status_code == 200 and response.mimetype == "text/xml"
    return response


def in_new_york(moment) -> str:
    """A stored UTC time as the coordinator (in New York) sees it on the page."""
    local = moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo("America/New_York"))
    return local.strftime("%a %d %b %Y, %H:%M %Z")


def timeline_titles(client, patient_id: int) -> list[str]:
    """The timeline's headings, newest first, as the coordinator reads them."""
    html = client.get(f"/patients/{patient_id}").get_data(as_text=True)
    section = html[html.index('id="timeline"') :]
    return [markup.unescape(t) for t in re.findall(r"<strong>(.*?)</strong>", section)]


def test_stop_start_stop_start_shows_four_events_in_order(app, client, signed_in, twilio):
    enroll(client)
    patient = db.session.scalar(db.select(Patient))
    for word in ("STOP", "START", "STOP", "START"):
        text(twilio, word)
    opt = [t for t in timeline_titles(client, patient.id) if t.startswith("Opted")]
    assert opt == [
        "Opted back in to texts (START)",
        "Opted out of texts and calls (STOP)",
        "Opted back in to texts (START)",
        "Opted out of texts and calls (STOP)",
    ]


def test_a_second_stop_in_a_row_is_not_a_second_opt_out(app, client, signed_in, twilio):
    enroll(client)
    patient = db.session.scalar(db.select(Patient))
    text(twilio, "STOP")
    text(twilio, "STOP")
    titles = timeline_titles(client, patient.id)
    assert titles.count("Opted out of texts and calls (STOP)") == 1
    assert titles.count("Text from patient") == 2  # both texts are still there


def test_a_stop_texted_before_enrolment_stays_and_is_not_undone_by_enrolling(
    app, client, signed_in, twilio
):
    text(twilio, "STOP")
    enroll(client)
    patient = db.session.scalar(db.select(Patient))
    titles = timeline_titles(client, patient.id)
    assert "Opted out of texts and calls (STOP)" in titles
    assert "Agreed to texts at enrolment (consent recorded)" not in titles


def book(patient, days: int = 10):
    """A CT scan ``days`` from now at a New York site, saved as the coordinator saves it."""
    starts = (utcnow() + timedelta(days=days)).replace(hour=14, minute=0, second=0, microsecond=0)
    appointment = appointments.schedule(
        patient, "ct", starts, "America/New_York", "Mercy Imaging", now=utcnow()
    )
    db.session.commit()
    return appointment


def test_a_confirmation_then_a_reschedule_request_both_stay_on_the_timeline(
    app, client, signed_in, twilio
):
    enroll(client)
    patient = db.session.scalar(db.select(Patient))
    book(patient)
    text(twilio, "C")
    text(twilio, "R")
    titles = timeline_titles(client, patient.id)
    assert titles.index("Reschedule requested: CT scan") < titles.index(
        "Appointment confirmed: CT scan"
    )
    event = db.session.scalar(db.select(PatientEvent).filter_by(kind="confirmed"))
    assert (event.channel, event.patient_id) == ("sms", patient.id)


def test_moving_the_appointment_keeps_the_reschedule_request(app, client, signed_in, twilio):
    enroll(client)
    patient = db.session.scalar(db.select(Patient))
    appointment = book(patient)
    text(twilio, "R")
    appointments.move(appointment, datetime(2030, 3, 4, 9, 0), now=utcnow())
    db.session.commit()
    assert db.session.get(type(appointment), appointment.id).status == "scheduled"
    assert "Reschedule requested: CT scan" in timeline_titles(client, patient.id)


def test_a_reminder_calls_keypad_answer_is_on_the_timeline_as_by_phone(app, client, signed_in):
    from navigator.channels import reminder_replies as replies

    enroll(client)
    patient = db.session.scalar(db.select(Patient))
    replies.confirm(book(patient))
    db.session.commit()
    html = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "Appointment confirmed: CT scan" in html and "By phone" in html


def test_a_call_from_the_patient_shows_once_even_when_twilio_retries_the_greeting(
    app, client, signed_in, twilio
):
    enroll(client)
    patient = db.session.scalar(db.select(Patient))
    sid = "CA" + "7" * 32
    call(twilio, "/twilio/voice", sid, CallStatus="ringing")
    call(twilio, "/twilio/voice", sid, CallStatus="ringing")  # Twilio retried
    call(twilio, "/twilio/voice/choose", sid, SpeechResult="what is her2", Confidence="0.9")
    call(twilio, "/twilio/voice/status", sid, CallStatus="completed", CallDuration="125")
    titles = timeline_titles(client, patient.id)
    assert titles.count("Call from patient") == 1
    [row] = db.session.scalars(db.select(Message).filter_by(channel="voice", direction="in"))
    assert (row.provider_sid, row.patient_id, row.status) == (sid, patient.id, "completed")
    assert row.body == "lasted 2 min 5 s"  # what was said on the call is never stored
    html = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "lasted 2 min 5 s" in html and in_new_york(row.created_at) in html


def test_a_call_from_a_number_not_yet_enrolled_is_kept_and_shows_once_it_is(
    app, client, signed_in, twilio
):
    call(twilio, "/twilio/voice", "CA" + "8" * 32)
    enroll(client)
    patient = db.session.scalar(db.select(Patient))
    assert "Call from patient" in timeline_titles(client, patient.id)


def test_an_upgraded_database_keeps_what_its_timelines_showed(app, client, signed_in):
    """The migration backfills one event per opt-out, opt-in, confirmation and request."""
    from flask_migrate import downgrade, upgrade

    enroll(client)
    patient = db.session.scalar(db.select(Patient))
    patient_id, appointment = patient.id, book(patient)
    at = utcnow().replace(microsecond=0)
    db.session.add(
        Alert(
            kind="reschedule",
            phone=patient.phone,
            patient_id=patient.id,
            appointment_id=appointment.id,
            created_at=at,
        )
    )
    contact = db.session.scalar(db.select(Contact).filter_by(phone=patient.phone))
    contact.opted_out_at = at - timedelta(hours=2)
    contact.opted_in_at = at - timedelta(hours=1)
    appointment.status = "confirmed"
    db.session.commit()
    db.session.remove()
    downgrade(revision="a1d3e5f7b902")
    upgrade()
    kinds = db.session.scalars(
        db.select(PatientEvent.kind).where(PatientEvent.patient_id == patient_id)
    ).all()
    assert sorted(kinds) == ["confirmed", "opted_in", "opted_out", "reschedule_requested"]
    titles = timeline_titles(client, patient_id)
    assert (
        "Opted out of texts and calls (STOP)" in titles
        and "Appointment confirmed: CT scan" in titles
    )


def test_the_patient_list_finds_by_name_and_by_number_without_putting_them_in_urls(
    app, client, signed_in
):
    enroll(client)
    enroll(client, name="Beth Jones", phone="617-555-0188")
    by_name = search(client, "ana").get_data(as_text=True)
    assert "Ana Ruiz" in by_name and "Beth Jones" not in by_name
    found = search(client, "0188").get_data(as_text=True)
    assert "Beth Jones" in found and "Ana Ruiz" not in found
    assert "Beth Jones" in client.get("/patients?q=ana").get_data(as_text=True)  # no GET search


def test_an_unknown_patient_is_a_404_page(app, client, signed_in):
    response = client.get("/patients/999")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def _many_patients(number):
    start = utcnow() - timedelta(days=1)
    for n in range(number):
        db.session.add(
            Patient(
                name=f"Patient {n:03d}",
                phone=f"+1202555{n:04d}",
                created_at=start + timedelta(minutes=n),
            )
        )
    db.session.commit()


def test_the_patient_list_shows_fifty_a_page_with_next_and_previous(app, client, signed_in):
    _many_patients(120)
    first = client.get("/patients").get_data(as_text=True)
    assert "Showing 1–50 of 120 patients. Page 1 of 3." in first
    assert "Patient 119" in first and "Patient 069" not in first  # newest first
    assert 'href="/patients?page=2">Next page' in first and "Previous page" not in first
    last = client.get("/patients?page=3").get_data(as_text=True)
    assert "Showing 101–120 of 120 patients. Page 3 of 3." in last
    assert "Patient 000" in last and "Next page" not in last
    assert 'href="/patients?page=2">Previous page' in last
    beyond = client.get("/patients?page=99").get_data(as_text=True)
    assert "Showing 101–120 of 120" in beyond


def test_the_pages_of_a_search_keep_the_words_searched_out_of_the_address(app, client, signed_in):
    _many_patients(60)
    found = search(client, "patient")
    html = found.get_data(as_text=True)
    assert "Showing 1–50 of 60 patients matching your search." in html
    assert "patient" not in found.request.query_string.decode().lower()
    [next_page] = re.findall(r'href="(/patients\?[^"]*page=2[^"]*)">Next page', html)
    assert "patient" not in next_page.partition("?")[2].lower()
    second = client.get(markup.unescape(next_page)).get_data(as_text=True)
    assert "Showing 51–60 of 60" in second


def test_back_after_a_search_shows_the_results_again_without_resending_a_form(
    app, client, signed_in
):
    enroll(client)
    enroll(client, name="Beth Jones", phone="617-555-0188")
    found = search(client, "beth")
    assert found.request.method == "GET"  # a 303 to a GET: Back and Reload just work
    again = client.get(found.request.full_path).get_data(as_text=True)
    assert "Beth Jones" in again and "Ana Ruiz" not in again


@pytest.mark.parametrize(
    "typed,name",
    [
        ("hernandez", "Rosa Hernández"),
        ("HERNÁNDEZ", "Rosa Hernandez"),
        ("oconnor", "Mary O'Connor"),
        ("o connor", "Mary O'Connor"),
        ("maria jose", "María-José Pérez"),
        ("peña", "Luz Pena"),
    ],
)
def test_a_name_is_found_whatever_its_accents_capitals_and_punctuation(
    app, client, signed_in, typed, name
):
    enroll(client, name=name)
    enroll(client, name="Beth Jones", phone="617-555-0188")
    html = markup.unescape(search(client, typed).get_data(as_text=True))
    assert name in html and "Beth Jones" not in html


def test_a_search_from_another_session_or_too_old_finds_nothing_and_says_so(app, client, signed_in):
    enroll(client)
    found = search(client, "ana")
    other = app.test_client()
    sign_in(other)
    html = other.get(found.request.full_path).get_data(as_text=True)
    assert "That search has expired" in html


@pytest.mark.parametrize("typed", ["_", "%", "\\", "a_a", "R%z"])
def test_search_treats_percent_and_underscore_as_plain_characters(app, client, signed_in, typed):
    enroll(client)
    enroll(client, name="Beth Jones", phone="617-555-0188")
    html = search(client, typed).get_data(as_text=True)
    assert "Ana Ruiz" not in html and "Beth Jones" not in html
    assert "No patients match." in html


def test_a_name_with_an_underscore_is_found_by_it(app, client, signed_in):
    enroll(client, name="Ana_Ruiz")
    enroll(client, name="Beth Jones", phone="617-555-0188")
    html = search(client, "_").get_data(as_text=True)
    assert "Ana_Ruiz" in html and "Beth Jones" not in html


@pytest.mark.parametrize("typed", ["(617) 555-0188", "617.555.0188", "+1 617 555 0188", "0188"])
def test_search_finds_a_number_however_its_digits_are_written(app, client, signed_in, typed):
    enroll(client)
    enroll(client, name="Beth Jones", phone="617-555-0188")
    html = search(client, typed).get_data(as_text=True)
    assert "Beth Jones" in html and "Ana Ruiz" not in html


@pytest.mark.parametrize(
    "typed,name",
    [("hernandez", "Rosa Hernández"), ("o connor", "Mary O'Connor"), ("555-0188", "Beth Jones")],
)
def test_on_postgresql_the_trigram_index_answers_the_folded_search(
    app, client, signed_in, typed, name
):
    """At a large program's size the search must not read every patient: PostgreSQL answers
    it from the trigram index, and still ignores accents, capitals and punctuation."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the trigram index is PostgreSQL's (SQLite reads the table)")
    from navigator.coordinator.patient_pages import _matching

    enroll(client, name=name if name != "Beth Jones" else "Ana Ruiz")
    enroll(client, name="Beth Jones", phone="617-555-0188")
    enroll(client, name="Carla Diaz", phone="617-555-0199")
    db.session.execute(db.text("SET LOCAL enable_seqscan = off"))  # as with many patients
    query = db.select(Patient.name).where(_matching(typed))
    connection = db.session.connection()
    compiled = query.compile(connection)
    plan = "\n".join(connection.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).scalars())
    assert "ix_patients_search" in plan
    assert db.session.scalars(query).all() == [name]
    db.session.rollback()
