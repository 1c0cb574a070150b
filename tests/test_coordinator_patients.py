"""Enrolment with recorded consent, the opt-in text, and the patient page's timeline."""

from __future__ import annotations

import html as markup
from datetime import timedelta

import pytest
from coordinator_support import make_coordinator, post_form, sign_in

from navigator.extensions import db
from navigator.models import (
    Alert,
    AuditEvent,
    Caregiver,
    Consent,
    Contact,
    Message,
    Patient,
    utcnow,
)

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
    "consent_obtained_by": "Nora Nurse",
    "consent_date": "2026-11-20",
    "consent_time": "10:15",
    "consent_method": "in person",
    "told_program": "y",
    "told_purpose": "y",
    "told_frequency": "y",
    "told_rates": "y",
    "told_help": "y",
    "told_stop": "y",
}


@pytest.fixture
def signed_in(app, client):
    coordinator = make_coordinator(timezone="America/New_York")
    sign_in(client)
    return coordinator


def enroll(client, **changes):
    return post_form(client, "/patients/new", {**VALID, **changes})


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
    for private in ("Ana", "Ruiz", "Luis", "555", "0143", "0177"):
        assert private not in logged


def test_a_spanish_speaker_gets_the_confirmation_in_spanish(app, client, signed_in):
    from navigator.content import catalog

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
    assert "Tell the patient this and tick the box before enrolling." in response.get_data(
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
    from navigator.coordinator import patients as views

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
    app, client, signed_in, monkeypatch
):
    from navigator import outbound

    def refuse(message, **kwargs):
        outbound.record_result(message, None, "failed", outbound.SendError("refused", code=21610))
        raise outbound.SendError("refused", code=21610)

    monkeypatch.setattr(outbound, "deliver", refuse)
    response = enroll(client)
    assert response.status_code == 302
    assert count(Patient) == 1
    alert = db.session.scalar(db.select(Alert))
    assert alert.kind == "delivery_failed"
    assert db.session.get(Message, alert.message_id).status == "failed"


def test_the_patient_page_shows_the_timeline_in_the_coordinators_zone(app, client, signed_in):
    enroll(client)
    patient = db.session.scalar(db.select(Patient))
    at = utcnow().replace(hour=15, minute=30, second=0, microsecond=0)
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
            Message(
                direction="in",
                channel="voice",
                phone=patient.phone,
                patient_id=patient.id,
                body="",
                status="completed",
                created_at=at + timedelta(minutes=2),
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
    contact = db.session.scalar(db.select(Contact).filter_by(phone=patient.phone))
    contact.opted_out_at = at + timedelta(minutes=4)
    contact.opted_in_at = at + timedelta(minutes=5)
    db.session.commit()
    html = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    for text in (
        "I have a new pain in my back",
        "Text from patient",
        "Reminder: your visit",
        "delivered",
        "Call from patient",
        "Warning sign reported",
        "Opted out of texts (STOP)",
        "Opted back in to texts (START)",
        "Coordinator: enroll",
    ):
        assert text in html, text
    zone = "EST" if at.month in (1, 2, 3, 11, 12) else "EDT"
    assert f"10:30 {zone}" in html or f"11:30 {zone}" in html
    assert html.index("Opted back in") < html.index("I have a new pain")  # newest first


def test_the_patient_list_finds_by_name_and_by_number_without_putting_them_in_urls(
    app, client, signed_in
):
    enroll(client)
    enroll(client, name="Beth Jones", phone="617-555-0188")
    by_name = post_form(client, "/patients", {"q": "ana"}).get_data(as_text=True)
    assert "Ana Ruiz" in by_name and "Beth Jones" not in by_name
    found = post_form(client, "/patients", {"q": "0188"}).get_data(as_text=True)
    assert "Beth Jones" in found and "Ana Ruiz" not in found
    assert "Beth Jones" in client.get("/patients?q=ana").get_data(as_text=True)  # no GET search


def test_an_unknown_patient_is_a_404_page(app, client, signed_in):
    response = client.get("/patients/999")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)
