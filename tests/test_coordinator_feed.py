"""The coordinators' side of the scheduling feed: items to fix, code tables, the CSV import."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from coordinator_support import make_coordinator, post_form, sign_in
from feed_support import DOB, MRN, PATIENT_PHONE, enroll_patient, seed_site, siu
from sqlalchemy import event

from navigator.extensions import db
from navigator.feed import csv_import as appointment_import
from navigator.feed import intake as feed_intake
from navigator.models import (
    Appointment,
    AuditEvent,
    FeedMessage,
    Patient,
    Reminder,
    ServiceCode,
    SiteLocation,
)


@pytest.fixture
def nurse(app, client):
    make_coordinator()
    sign_in(client)


@pytest.fixture
def admin(app, client):
    make_coordinator("admin@clinic.test", admin=True)
    sign_in(client, "admin@clinic.test")


def _receive(raw: bytes) -> FeedMessage:
    answer = feed_intake.receive(raw)
    return db.session.get(FeedMessage, answer.message_id)


def _appointments():
    db.session.expire_all()
    return db.session.scalars(db.select(Appointment)).all()


def test_an_unmatched_appointment_waits_on_the_feed_page(app, client, nurse):
    seed_site()
    _receive(siu("S12", "MSG0001"))

    page = client.get("/feed").get_data(as_text=True)

    assert "No enrolled patient has this MRN" in page
    assert "MSG0001" in page
    assert "Apply again" in page


def test_what_the_feed_could_not_apply_shows_in_the_main_inbox_until_resolved(app, client, nurse):
    seed_site()
    enroll_patient()
    held = _receive(siu("S12", "MSG0001", service="MRBRST"))
    _receive(siu("S12", "MSG0002", mrn="E7654321"))

    page = client.get("/inbox").get_data(as_text=True)

    assert 'Scheduling feed: appointments not applied <span class="count">(2)</span>' in page
    assert "Unknown service code" in page and "Rosa Quintana" in page
    assert "No enrolled patient has this MRN" in page
    assert page.index("MSG0001") < page.index("MSG0002")  # the oldest first
    assert 'href="/feed">Resolve them on the scheduling feed page' in page

    post_form(client, f"/feed/{held.id}/dismiss", {}, page="/feed")
    page = client.get("/inbox").get_data(as_text=True)

    assert "MSG0001" not in page
    assert "(1)" in page and "Resolve it on the scheduling feed page" in page


def test_the_inbox_shows_the_oldest_feed_items_and_how_many_more_wait(app, client, nurse):
    seed_site()
    for n in range(7):
        _receive(siu("S12", f"MSG000{n}"))

    page = client.get("/inbox").get_data(as_text=True)

    assert "MSG0004" in page and "MSG0005" not in page
    assert "(2 more there)" in page


def test_the_inbox_has_no_feed_section_when_nothing_waits(app, client, nurse):
    assert "appointments not applied" not in client.get("/inbox").get_data(as_text=True)


def test_enrolling_the_patient_then_applying_again_books_it_with_reminders(app, client, nurse):
    seed_site()
    held = _receive(siu("S12", "MSG0001"))
    assert _appointments() == []
    patient = enroll_patient()

    response = post_form(client, f"/feed/{held.id}/replay", {}, page="/feed")

    assert response.status_code == 302
    [appointment] = _appointments()
    assert appointment.patient_id == patient.id
    assert db.session.scalars(db.select(Reminder).where(Reminder.status == "pending")).all()
    db.session.refresh(held)
    assert held.status == "applied" and held.resolved_by_id is not None
    actions = db.session.scalars(db.select(AuditEvent.action)).all()
    assert "feed_replay" in actions and "feed_book" in actions
    assert "Nothing here." in client.get("/feed").get_data(as_text=True)


def test_demographics_in_a_message_are_only_proposed(app, client, nurse):
    seed_site()
    patient = enroll_patient(language="en")
    held = _receive(siu("S12", "MSG0001", dob="19650413"))  # mismatch: shown, not applied

    page = client.get("/feed").get_data(as_text=True)

    assert held.problem == "dob_mismatch"
    assert "6175550199" in page  # the number the message carries, as a proposal
    assert "<td>language</td><td>es</td><td>en</td>" in page
    db.session.refresh(patient)
    assert (patient.phone, patient.language) == (PATIENT_PHONE, "en")


def test_nothing_to_do_closes_an_item_without_applying_it(app, client, nurse):
    seed_site()
    held = _receive(siu("S12", "MSG0001"))

    post_form(client, f"/feed/{held.id}/dismiss", {}, page="/feed")

    db.session.refresh(held)
    assert held.status == "dismissed"
    assert _appointments() == []


def test_an_admin_adds_a_missing_service_code_and_the_message_applies(app, client, admin):
    seed_site()
    enroll_patient()
    held = _receive(siu("S12", "MSG0001", service="BONESCAN"))
    assert held.problem == "unknown_service"

    post_form(
        client,
        "/feed/mappings/services",
        {"service-code": "BONESCAN", "service-kind": "bone-scan", "service-description": "NM"},
        page="/feed/mappings",
    )
    post_form(client, f"/feed/{held.id}/replay", {}, page="/feed")

    [appointment] = _appointments()
    assert appointment.kind == "bone-scan"
    audit = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.entity == "service_code")
    ).one()
    assert audit.action == "create_service_code" and "BONESCAN" in audit.detail


def test_an_admin_edits_a_location_and_the_change_is_audited(app, client, admin):
    seed_site()

    post_form(
        client,
        "/feed/mappings/locations",
        {
            "location-code": "RAD1",
            "location-address": "Radiology, Building B",
            "location-timezone": "America/Chicago",
            "location-prep_note": "",
        },
        page="/feed/mappings",
    )

    location = db.session.scalars(db.select(SiteLocation)).one()
    assert (location.address, location.timezone, location.prep_note) == (
        "Radiology, Building B",
        "America/Chicago",
        None,
    )
    audit = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "update_site_location")
    ).one()
    assert "address" in audit.detail and "timezone" in audit.detail


def test_a_location_too_long_for_a_text_is_refused_with_the_reason(app, client, admin):
    response = post_form(
        client,
        "/feed/mappings/locations",
        {
            "location-code": "X",
            "location-address": "x" * 61,
            "location-timezone": "America/New_York",
        },
        page="/feed/mappings",
    )

    assert response.status_code == 400
    assert "60 characters" in response.get_data(as_text=True)
    assert db.session.scalars(db.select(SiteLocation)).all() == []


def test_a_coordinator_who_is_not_an_admin_cannot_change_the_tables(app, client, nurse):
    seed_site()

    response = post_form(
        client,
        "/feed/mappings/services",
        {"service-code": "X", "service-kind": "ct"},
        page="/feed/mappings",
    )

    assert response.status_code == 403
    assert db.session.scalars(db.select(ServiceCode.code)).all() == ["CTCAP"]
    assert "Save service code" not in client.get("/feed/mappings").get_data(as_text=True)


CSV = (
    "appointment_id,mrn,mrn_authority,date_of_birth,start,service_code,location_code,status\n"
    f"A1,{MRN},MAINHOSP,{DOB.isoformat()},2027-01-15 09:30,CTCAP,RAD1,booked\n"
    "A2,E0000000,MAINHOSP,1970-01-01,2027-01-16 10:00,CTCAP,RAD1,booked\n"
    f"A3,{MRN},MAINHOSP,{DOB.isoformat()},not a time,CTCAP,RAD1,booked\n"
)


def _upload(client, content: str):
    return post_form(
        client,
        "/feed/import",
        {"step": "preview", "file": (io.BytesIO(content.encode()), "appointments.csv")},
        content_type="multipart/form-data",
    )


def test_the_import_preview_shows_what_will_change_and_saves_nothing(app, client, nurse):
    seed_site()
    enroll_patient()

    page = _upload(client, CSV).get_data(as_text=True)

    assert "will be applied" in page
    assert "cannot be matched" in page and "No enrolled patient has this MRN" in page
    assert "cannot be read" in page and "start is not a time" in page
    assert _appointments() == []


def test_applying_an_import_books_the_matched_rows_in_one_go(app, client, nurse):
    seed_site()
    patient = enroll_patient()
    preview = _upload(client, CSV).get_data(as_text=True)
    content = preview.split('name="content" value="')[1].split('"')[0]

    page = post_form(
        client, "/feed/import", {"step": "apply", "content": content}, page="/feed/import"
    ).get_data(as_text=True)

    assert "1 of 3 rows applied" in page
    [appointment] = _appointments()
    assert appointment.patient_id == patient.id
    assert appointment.starts_at == datetime(2027, 1, 15, 14, 30)
    again = post_form(
        client, "/feed/import", {"step": "apply", "content": content}, page="/feed/import"
    ).get_data(as_text=True)
    assert "0 of 3 rows applied" in again
    assert len(_appointments()) == 1


def test_a_file_without_the_templates_columns_gets_a_clear_answer(app, client, nurse):
    response = _upload(client, "name,phone\nRosa,6175550143\n")

    assert response.status_code == 400
    assert "missing column(s): appointment_id" in response.get_data(as_text=True)


def test_the_template_can_be_downloaded(app, client, nurse):
    response = client.get("/feed/import/template.csv")

    assert response.mimetype == "text/csv"
    assert response.get_data(as_text=True).startswith("appointment_id,mrn,mrn_authority")


def test_the_feed_pages_need_a_signed_in_coordinator(app, client):
    for path in ("/feed", "/feed/mappings", "/feed/import"):
        assert client.get(path).status_code == 302


def test_patients_enrolled_by_mrn_are_unique_per_authority(app):
    enroll_patient()
    with pytest.raises(Exception):  # noqa: B017 - the database's own unique constraint
        enroll_patient(phone="+16175550144")
    db.session.rollback()
    assert len(db.session.scalars(db.select(Patient)).all()) == 1


def test_a_no_show_item_is_closed_by_applying_it_again(app, client, nurse):
    seed_site()
    enroll_patient()
    _receive(siu("S12", "MSG0001"))
    held = _receive(siu("S26", "MSG0002", sent="20261205090000-0500"))
    assert held.problem == "noshow"

    post_form(client, f"/feed/{held.id}/replay", {}, page="/feed")

    db.session.refresh(held)
    assert held.status == "ignored" and held.resolved_at is not None
    [appointment] = _appointments()
    assert appointment.status == "missed"


def test_applying_an_import_audits_every_rows_match_decision_without_values(app, client, nurse):
    seed_site()
    patient = enroll_patient()
    preview = _upload(client, CSV).get_data(as_text=True)
    content = preview.split('name="content" value="')[1].split('"')[0]

    post_form(client, "/feed/import", {"step": "apply", "content": content}, page="/feed/import")

    rows = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "feed_import_row").order_by(AuditEvent.id)
    ).all()
    assert [r.detail.split(";")[0] for r in rows] == [
        f"line 2: patient #{patient.id} matched",
        "line 3: patient #- not_enrolled",
        "line 4: patient #- not read",
    ]
    assert rows[0].patient_id == patient.id
    for value in (MRN, "E0000000", DOB.isoformat(), "1970-01-01"):
        assert not any(value in r.detail for r in rows)


def test_an_import_is_one_transaction_nothing_is_kept_until_it_commits(app):
    seed_site()
    enroll_patient()
    rows = appointment_import.read_rows(CSV.encode())

    results = appointment_import.apply_rows(rows)
    db.session.rollback()

    assert [r.status for r in results] == ["applied", "needs_review", "invalid"]
    assert _appointments() == []
    assert db.session.scalars(db.select(Reminder)).all() == []
    assert db.session.scalars(db.select(AuditEvent)).all() == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"date_of_birth": "1965-04-13"}, "dob_mismatch"),
        ({"mrn_authority": "OTHERHOSP"}, "not_enrolled"),
        ({"service_code": "MAMMO"}, "unknown_service"),
        ({"location_code": "ANNEX9"}, "unknown_location"),
        ({"start": "2027-11-07 01:30"}, "ambiguous_time"),
    ],
)
def test_an_imported_row_meets_the_feeds_matching_and_mapping_rules(app, change, problem):
    seed_site()
    enroll_patient()
    row = {
        "appointment_id": "A1",
        "mrn": MRN,
        "mrn_authority": "MAINHOSP",
        "date_of_birth": DOB.isoformat(),
        "start": "2027-01-15 09:30",
        "service_code": "CTCAP",
        "location_code": "RAD1",
        "status": "booked",
    }

    [result] = appointment_import.preview([{**row, **change}])

    assert (result.status, result.problem) == ("needs_review", problem)
    assert _appointments() == []


def test_an_admin_removes_a_code_and_the_removal_is_audited(app, client, admin):
    seed_site()
    service = db.session.scalars(db.select(ServiceCode)).one()

    post_form(client, f"/feed/mappings/services/{service.id}/delete", {}, page="/feed/mappings")

    assert db.session.scalars(db.select(ServiceCode)).all() == []
    audit = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.entity == "service_code")
    ).one()
    assert (audit.action, audit.entity_id, audit.detail) == (
        "delete_service_code",
        service.id,
        "CTCAP",
    )


def test_a_coordinator_who_is_not_an_admin_cannot_remove_a_code(app, client, nurse):
    seed_site()
    location = db.session.scalars(db.select(SiteLocation)).one()

    response = post_form(
        client, f"/feed/mappings/locations/{location.id}/delete", {}, page="/feed/mappings"
    )

    assert response.status_code == 403
    assert db.session.scalars(db.select(SiteLocation.code)).all() == ["RAD1"]


def _statements(work) -> list[str]:
    """The SQL statements ``work()`` sends, in order."""
    sent = []

    def seen(conn, cursor, statement, *_):
        sent.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        work()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    return sent


def test_a_booking_with_differing_details_writes_its_message_once(app):
    seed_site()
    enroll_patient(language="en")

    sent = _statements(lambda: _receive(siu("S12", "MSG0001")))

    assert not [s for s in sent if s.startswith("UPDATE feed_messages")]
    assert len([s for s in sent if s.startswith("INSERT INTO feed_messages")]) == 1
    assert db.session.scalars(db.select(FeedMessage.problem)).one() == "details_differ"


def test_a_booking_reads_its_appointment_record_and_mappings_in_one_statement(app):
    seed_site()
    enroll_patient()

    sent = _statements(lambda: _receive(siu("S12", "MSG0001")))

    mappings = [s for s in sent if s.startswith("SELECT") and "service_codes" in s]
    assert len(mappings) == 1
    assert "feed_appointments" in mappings[0] and "site_locations" in mappings[0]
    assert len(_appointments()) == 1


def test_an_applied_booking_proposes_the_hospitals_differing_details_until_seen(app, client, nurse):
    seed_site()
    patient = enroll_patient(language="en")
    booked = _receive(siu("S12", "MSG0001"))  # the message: 617-555-0199, Spanish

    page = client.get("/feed").get_data(as_text=True)

    assert (booked.status, booked.problem, booked.ack_code) == ("applied", "details_differ", "AA")
    assert len(_appointments()) == 1
    assert "Applied, but the hospital's details differ" in page
    assert "<td>phone</td><td>6175550199</td><td>+16175550143</td>" in page
    assert "<td>language</td><td>es</td><td>en</td>" in page
    assert "<td>name</td>" not in page  # the same name, as the hospital writes it
    db.session.refresh(patient)
    assert (patient.phone, patient.language) == (PATIENT_PHONE, "en")  # never applied

    post_form(client, f"/feed/{booked.id}/seen", {}, page="/feed")

    assert "details differ" not in client.get("/feed").get_data(as_text=True)
    db.session.refresh(booked)
    assert (booked.status, booked.problem) == ("applied", "details_seen")
    seen = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "feed_details_seen")
    ).one()
    assert seen.patient_id == patient.id


def test_details_the_hospital_writes_differently_but_alike_are_not_proposed(app, client, nurse):
    seed_site()
    enroll_patient(name="ROSA QUINTANA", phone="+16175550199", language="es")

    booked = _receive(siu("S12", "MSG0001"))

    assert (booked.status, booked.problem) == ("applied", None)
    assert "details differ" not in client.get("/feed").get_data(as_text=True)
