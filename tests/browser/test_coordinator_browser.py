"""The coordinator app in real headless Chromium, with axe-core run on every page."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from coordinator_support import make_coordinator
from playwright.sync_api import expect
from reminder_support import book_ct_and_tick

from browser.browser_support import assert_accessible, assert_fits, seed_patient, sign_in
from navigator.extensions import db
from navigator.models import Alert, Appointment, Contact, Coordinator, Patient

pytestmark = pytest.mark.browser


@pytest.fixture
def nurse(app):
    return make_coordinator(admin=True)


def test_sign_in_works_and_the_page_is_accessible(app, page, nurse):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/sign-in"))
    assert_accessible(page)
    sign_in(page)
    expect(page).to_have_url(re.compile(r"/inbox$"))
    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()
    assert_accessible(page)


def test_a_wrong_password_is_announced_and_five_lock_the_account(app, page, nurse):
    for attempt in range(5):
        sign_in(page, password="wrong password")
        alert = page.get_by_role("alert")
        expect(alert).to_be_visible()
        if attempt == 0:
            expect(alert).to_contain_text("The email or password is not right.")
            expect(page.get_by_label("Email")).to_have_value("nurse@clinic.test")
            assert_accessible(page)
    expect(page.get_by_role("alert")).to_contain_text("locked for 15 minutes")
    sign_in(page)
    expect(page.get_by_role("alert")).to_contain_text("locked")
    expect(page).to_have_url(re.compile(r"/sign-in"))


def test_the_keyboard_alone_signs_in_with_a_visible_focus(app, page, nurse):
    page.goto("/sign-in")
    page.keyboard.press("Tab")  # the skip link comes first
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    email = page.get_by_label("Email")
    expect(email).to_be_focused()
    outline = email.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline not in ("none", "")
    page.keyboard.type("nurse@clinic.test")
    page.keyboard.press("Tab")
    page.keyboard.type("correct horse battery staple")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/inbox$"))


def _fill_enrolment(page, phone):
    page.get_by_label("Full name").fill("Ana Ruiz")
    page.get_by_label("Mobile number", exact=True).fill(phone)
    page.get_by_label("Spanish (español)").check()
    page.get_by_label("Patient's time zone").select_option("America/Chicago")
    for label in (
        "Program: who",
        "Purpose:",
        "Frequency:",
        "Message and data rates",
        "Reply HELP",
        "Reply STOP",
    ):
        page.get_by_label(label).check()


def test_enrolment_keeps_what_was_typed_on_a_bad_number_then_enrolls(app, page, nurse):
    sign_in(page)
    page.get_by_role("link", name="Enroll", exact=True).click()
    assert_accessible(page)
    _fill_enrolment(page, "555-12")
    page.get_by_role("button", name="Enroll and send confirmation").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Mobile number: This is not a valid phone number.")
    expect(summary).to_be_focused()
    phone = page.get_by_label("Mobile number", exact=True)
    expect(phone).to_have_value("555-12")
    expect(phone).to_have_attribute("aria-invalid", "true")
    described = phone.get_attribute("aria-describedby")
    expect(page.locator(f"#{described}")).to_contain_text("not a valid phone number")
    expect(page.get_by_label("Full name")).to_have_value("Ana Ruiz")
    expect(page.get_by_label("Spanish (español)")).to_be_checked()
    expect(page.get_by_label("Reply STOP")).to_be_checked()
    assert_accessible(page)
    summary.get_by_role("link").first.click()
    expect(phone).to_be_focused()
    phone.fill("(617) 555-0143")
    page.get_by_role("button", name="Enroll and send confirmation").click()
    expect(page.get_by_role("heading", name="Ana Ruiz", level=1)).to_be_visible()
    expect(page.get_by_text("The confirmation text was sent.")).to_be_visible()
    # on the timeline, in Spanish
    expect(page.get_by_text("Ya recibe recordatorios")).to_be_visible()
    assert_accessible(page)
    assert db.session.scalar(db.select(Patient)).phone == "+16175550143"


def test_an_appointment_is_previewed_then_saved_moved_and_cancelled(app, page, nurse):
    patient = seed_patient()
    sign_in(page)
    page.goto(f"/patients/{patient.id}")
    assert_accessible(page)
    page.get_by_role("link", name="Add an appointment").click()
    assert_accessible(page)
    page.get_by_label("Kind").select_option("biopsy")
    day = (date.today() + timedelta(days=9)).isoformat()
    page.get_by_label("Date", exact=True).fill(day)
    page.get_by_label("Time at the site").fill("10:00")
    page.get_by_label("Site's time zone").select_option("America/New_York")
    page.get_by_label("Location").fill("Breast Center, 3rd floor")
    page.get_by_role("button", name="Preview reminders").click()
    expect(page.get_by_role("heading", name="Reminders that will go out")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("CST")  # the patient's zone
    assert_accessible(page)
    assert db.session.scalar(db.select(db.func.count(Appointment.id))) == 0
    page.get_by_role("button", name="Save appointment").click()
    expect(page.get_by_text("Appointment saved.")).to_be_visible()
    page.get_by_role("link", name=re.compile("Edit or move")).click()
    later = (date.today() + timedelta(days=12)).isoformat()
    page.get_by_label("Date", exact=True).fill(later)
    page.get_by_role("button", name="Preview reminders").click()
    expect(page.get_by_text("moved")).to_be_visible()
    page.get_by_role("button", name="Save appointment").click()
    page.get_by_role("link", name=re.compile("^Cancel")).click()
    assert_accessible(page)
    page.get_by_role("button", name="Cancel the appointment").click()
    expect(page.get_by_text("Appointment cancelled.")).to_be_visible()
    db.session.expire_all()
    appointment = db.session.scalar(db.select(Appointment))
    assert appointment.status == "cancelled" and appointment.starts_at.date().isoformat() == later


def test_a_locked_phone_check_is_shown_and_lifted_on_the_patient_page(app, page, nurse):
    patient = seed_patient()
    db.session.scalar(db.select(Contact).filter_by(phone=patient.phone)).failed_checks = 5
    db.session.commit()
    sign_in(page)
    page.goto(f"/patients/{patient.id}")
    expect(page.get_by_text("Phone check locked after 5 wrong tries")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Allow the phone check again").click()
    expect(page.get_by_text("The phone check is allowed again")).to_be_visible()
    assert_accessible(page)


def test_the_inbox_puts_warning_signs_first_and_marks_items_done(app, page, nurse):
    patient = seed_patient()
    db.session.add_all(
        [
            Alert(
                kind="delivery_failed", phone=patient.phone, patient_id=patient.id, detail="30008"
            ),
            Alert(kind="red_flag", phone=patient.phone, patient_id=patient.id, detail="fever"),
            Alert(
                kind="voicemail",
                phone=patient.phone,
                patient_id=patient.id,
                detail="recorded message",
                recording_url="https://api.twilio.com/2010-04-01"
                "/Accounts/ACx/Recordings/RE" + "ab" * 16,
            ),
        ]
    )
    db.session.commit()
    sign_in(page)
    expect(page.get_by_label("Voicemail from Ana Ruiz")).to_be_visible()
    headings = page.locator("main h2").all_inner_texts()
    assert headings[0].startswith("Warning signs") and headings[3].startswith("Failed deliveries")
    assert_accessible(page)
    page.get_by_text(re.compile("^Close with an outcome")).first.click()
    page.get_by_label("No action needed").first.check()
    page.get_by_role("button", name=re.compile(r"^Close\W+Warning sign")).click()
    expect(page.get_by_text("Closed: warning sign reported.")).to_be_visible()
    expect(page.get_by_text("closed by Nora Nurse")).to_be_visible()
    assert_accessible(page)


def test_the_try_it_panel_texts_and_calls_the_navigator(app, page, nurse):
    seed_patient()
    sign_in(page)
    page.get_by_role("link", name="Try the navigator").click()
    assert_accessible(page)
    page.get_by_label("Text message").fill("HELP")
    page.get_by_role("button", name="Send text").click()
    log = page.get_by_role("log")
    expect(log.locator(".bubble--text").first).to_be_visible()
    page.get_by_role("button", name="Call the navigator").click()
    expect(log.locator(".bubble--say").first).to_have_text(re.compile(r"\w{3}"))
    assert_accessible(page)
    said = log.locator(".bubble--say").count()
    page.get_by_role("group", name="Keypad").get_by_role("button", name="1", exact=True).click()
    expect(log).to_contain_text("(presses 1)")
    assert log.locator(".bubble--say").count() > said
    page.get_by_role("button", name="Hang up").click()
    expect(log).to_contain_text("(you hang up)")
    page.get_by_label("Call or text as").select_option(label="Unknown caller, Spanish (español)")
    page.get_by_role("button", name="Start over as this caller").click()
    page.get_by_label("Text message").fill("MENU")
    page.get_by_role("button", name="Send text").click()
    expect(log.locator(".bubble--text").first).to_contain_text("Responda")
    assert_accessible(page)


def test_the_try_it_panel_offers_practice_patients_only_and_shows_errors_at_the_field(
    app, page, nurse
):
    seed_patient(phone="+16175552143")  # a real patient: never offered
    sign_in(page)
    page.goto("/try")
    expect(page.get_by_label("Call or text as")).not_to_contain_text("Ana Ruiz")
    page.get_by_role("button", name="Make a Spanish practice patient").click()
    expect(page.get_by_text("Now: Practice patient 1")).to_be_visible()
    expect(page.get_by_text("PIN 2468")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Text message").fill("   ")
    page.get_by_role("button", name="Send text").click()
    field = page.get_by_label("Text message")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_value("   ")
    expect(page.locator("#body-error")).to_have_text("Error: Type a message to send.")
    expect(page.get_by_role("alert")).to_be_focused()
    assert_accessible(page)
    page.goto("/patients")
    expect(page.get_by_role("row", name=re.compile("Practice patient 1"))).to_contain_text(
        "Practice"
    )
    expect(page.get_by_role("row", name=re.compile("Ana Ruiz"))).not_to_contain_text("Practice")


def test_the_outbox_shows_a_reminder_call_and_what_it_would_say(app, page, nurse):

    patient = seed_patient(phone="+16175552143")
    patient.channel = "voice"
    book_ct_and_tick(patient)
    sign_in(page)
    page.goto("/outbox")
    expect(page.get_by_role("row", name=re.compile("Ana Ruiz"))).to_contain_text(
        re.compile("Phone call, which says: .*press 1")
    )
    assert_accessible(page)


def test_the_remaining_pages_are_accessible(app, page, nurse):
    seed_patient()
    sign_in(page)
    for path in ("/patients", "/outbox", "/audit", "/coordinators", "/no-such-page"):
        page.goto(path)
        assert_accessible(page)


def test_an_admin_adds_a_coordinator_in_the_browser(app, page, nurse):
    sign_in(page)
    page.goto("/coordinators")
    page.get_by_label("Email").fill("second@clinic.test")
    page.get_by_label("Name").fill("Second Nurse")
    page.get_by_label("Password", exact=True).fill("a long enough password")
    page.get_by_label("Password again").fill("a long enough password")
    page.get_by_role("button", name="Add coordinator").click()
    expect(page.get_by_text("Added second@clinic.test")).to_be_visible()
    assert db.session.scalar(db.select(Coordinator).filter_by(email="second@clinic.test"))


def test_a_coordinator_changes_their_password_on_their_account_page(app, page, nurse):
    sign_in(page)
    page.get_by_role("link", name="nurse@clinic.test (your account)").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Current password").fill("not the password")
    page.get_by_label("New password", exact=True).fill("a brand new long password")
    page.get_by_label("New password again").fill("a brand new long password")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_contain_text("This is not your current password.")
    assert_accessible(page)
    page.get_by_label("Current password").fill("correct horse battery staple")
    page.get_by_label("New password", exact=True).fill("a brand new long password")
    page.get_by_label("New password again").fill("a brand new long password")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password is changed.")).to_be_visible()
    page.goto("/inbox")
    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()


def test_an_admin_deactivates_a_coordinator_in_the_browser(app, page, nurse):
    make_coordinator("leaving@clinic.test")
    sign_in(page)
    page.goto("/coordinators")
    page.get_by_role("button", name="Deactivate leaving@clinic.test").click()
    expect(page.get_by_text("leaving@clinic.test can no longer sign in.")).to_be_visible()
    expect(page.get_by_role("button", name="Reactivate leaving@clinic.test")).to_be_visible()
    assert_accessible(page)


def test_a_coordinator_changes_a_patients_details(app, page, nurse):
    patient = seed_patient()
    sign_in(page)
    page.goto(f"/patients/{patient.id}")
    page.get_by_role("link", name="Change details").click()
    expect(page.get_by_role("heading", name=re.compile("Change Ana Ruiz"))).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Full name").fill("")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter the patient's name.")
    assert_accessible(page)
    page.get_by_label("Full name").fill("Ana Ruiz Soto")
    page.get_by_label("Spanish (español)").check()
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Saved: name, language.")).to_be_visible()
    expect(page.get_by_role("heading", name="Ana Ruiz Soto")).to_be_visible()


def test_a_coordinator_corrects_a_patients_mobile_number(app, page, nurse):
    patient = seed_patient()
    sign_in(page)
    page.goto(f"/patients/{patient.id}")
    page.get_by_role("link", name="Change mobile number").click()
    assert_accessible(page)
    page.get_by_label("New mobile number").fill("555-12")
    page.get_by_role("button", name="Change number and send confirmation").click()
    expect(page.get_by_role("alert")).to_contain_text("This is not a valid phone number.")
    expect(page.get_by_label("New mobile number")).to_have_value("555-12")
    assert_accessible(page)
    page.get_by_label("New mobile number").fill("(617) 555-0150")
    for box in page.get_by_role("checkbox").all():
        box.check()
    page.get_by_role("button", name="Change number and send confirmation").click()
    expect(
        page.get_by_text("Mobile number changed. The confirmation text was sent.")
    ).to_be_visible()
    expect(page.get_by_text("(617) 555-0150")).to_be_visible()


def test_pages_fit_a_phone_screen(app, phone_page, nurse):
    patient = seed_patient()
    sign_in(phone_page)
    for path in (
        "/inbox",
        "/patients",
        "/patients/new",
        f"/patients/{patient.id}",
        "/try",
        f"/patients/{patient.id}/appointments/new",
        f"/patients/{patient.id}/edit",
        f"/patients/{patient.id}/phone",
        "/audit",
        "/account",
        "/coordinators",
    ):
        phone_page.goto(path)
        assert_fits(phone_page)
        assert_accessible(phone_page)
