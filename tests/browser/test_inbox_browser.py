"""The inbox and the pages of issue 12 in real headless Chromium: working an item, the
inbox noticed without reloading, texting the patient, and layout for every width and
assistive technology (reflow at 320 px, axe on every page and state, 375 px reach,
announcements, unique accessible names)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from coordinator_support import make_coordinator
from playwright.sync_api import expect

from browser.browser_support import assert_accessible, assert_fits, seed_patient, sign_in
from navigator.extensions import db
from navigator.models import Alert, Message, utcnow
from navigator.patients.appointments import cancel, schedule

pytestmark = pytest.mark.browser


@pytest.fixture
def nurse(app):
    return make_coordinator(admin=True)


def texted_fever(patient, words="I have a fever of 101 and chills", minutes_ago=0) -> Alert:
    at = utcnow() - timedelta(minutes=minutes_ago)
    said = Message(
        direction="in", phone=patient.phone, patient_id=patient.id, body=words, created_at=at
    )
    db.session.add(said)
    db.session.flush()
    alert = Alert(
        kind="red_flag",
        phone=patient.phone,
        patient_id=patient.id,
        message_id=said.id,
        detail="fever",
        created_at=at,
    )
    db.session.add(alert)
    db.session.commit()
    return alert


def booked(patient, days=9):
    day = date.today() + timedelta(days=days)
    appointment = schedule(
        patient,
        "biopsy",
        datetime.combine(day, datetime.min.time()).replace(hour=10),
        "America/New_York",
        "Breast Center, 3rd floor",
    )
    db.session.commit()
    return appointment


def controls(page) -> list[tuple[str, str, str]]:
    """(role, accessible name, link target) of each button and link in main, read from the
    accessibility tree as a screen reader gets it."""
    tree = page.locator("main").aria_snapshot().splitlines()
    found = []
    for number, line in enumerate(tree):
        match = re.search(r"- (button|link) \"([^\"]+)\"", line)
        if match:
            target = tree[number + 1].strip() if number + 1 < len(tree) else ""
            found.append((match[1], match[2], target if target.startswith("- /url") else ""))
    return found


def test_a_nurse_takes_an_item_closes_it_with_an_outcome_and_undoes_that(app, page, nurse):
    patient = seed_patient()
    texted_fever(patient)
    sign_in(page)
    item = page.locator(".item").first
    expect(item).to_contain_text("I have a fever of 101 and chills")
    expect(item).to_contain_text("Warning sign reported: fever")
    assert_accessible(page)
    item.get_by_role("button", name=re.compile("^Take it")).click()
    expect(page.locator(".item").first).to_contain_text("With Nora Nurse")
    page.get_by_text(re.compile("^Close with an outcome")).click()
    page.get_by_label("Called, sent to the emergency department").check()
    page.get_by_label("Note (optional, on the timeline)").fill("Daughter driving her in")
    assert_accessible(page)  # the open close form
    page.get_by_role("button", name=re.compile(r"^Close\W+Warning sign")).click()
    expect(page.get_by_text("Closed: warning sign reported.")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name=re.compile(r"^Undo\W+reopen Warning sign")).click()
    expect(page.get_by_text("Reopened: warning sign reported.")).to_be_visible()
    expect(page.locator(".item").first).to_contain_text("I have a fever")
    page.get_by_role("link", name=re.compile("^See it on the timeline")).click()
    expect(page.locator(":target")).to_contain_text("I have a fever of 101 and chills")


def test_a_new_warning_sign_is_announced_and_the_inbox_refreshes_itself(app, page, nurse):
    app.config["INBOX_POLL_SECONDS"] = 1
    patient = seed_patient()
    sign_in(page)
    page.goto("/patients")
    expect(page).not_to_have_title(re.compile(r"^\(\d+\)"))
    texted_fever(patient)
    alert_region = page.locator("[data-inbox-alert]")
    expect(alert_region).to_contain_text("New warning sign in the inbox.")
    expect(page).to_have_title(re.compile(r"^\(1\) Patients"))
    expect(page.get_by_role("link", name="Inbox 1 open items")).to_be_visible()
    assert_accessible(page)
    page.goto("/inbox")
    db.session.add(Alert(kind="callback", phone=patient.phone, patient_id=patient.id))
    db.session.commit()
    expect(page.locator(".item", has_text="Asked for a call back")).to_be_visible()
    expect(page).to_have_title(re.compile(r"^\(2\) Inbox"))
    expect(page.locator("[data-inbox-status]")).to_contain_text("New item in the inbox: 2 open.")


def test_a_nurse_texts_the_patient_with_a_live_counter(app, page, nurse):
    patient = seed_patient()
    sign_in(page)
    page.goto(f"/patients/{patient.id}")
    page.get_by_role("link", name="Text or call Ana Ruiz").click()
    assert_accessible(page)
    page.get_by_label("Or type a text").fill("x" * 170)
    expect(page.locator("#body-count")).to_have_text("170 of 1600 characters, sent as 2 texts.")
    page.get_by_label("Or type a text").fill("We will call you at 3 today.")
    page.get_by_role("button", name="Send the text to Ana Ruiz").click()
    expect(page.get_by_text("Text kept in the outbox.")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("We will call you at 3 today.")
    expect(page.locator("[data-announcer]")).to_contain_text("Text kept in the outbox.")
    assert_accessible(page)


def test_a_location_pasted_over_the_limit_is_kept_whole_and_counted(app, page, nurse):
    patient = seed_patient()
    sign_in(page)
    page.goto(f"/patients/{patient.id}/appointments/new")
    place = "Main campus, Radiology building, 3rd floor east wing, suite 300"
    page.get_by_label("Location").fill(place)
    expect(page.get_by_label("Location")).to_have_value(place)  # not cut at 60
    expect(page.locator("#location-count")).to_have_text("63 of 60 characters: 3 too many.")


def test_the_try_it_panel_announces_the_navigators_reply(app, page, nurse):
    seed_patient()
    sign_in(page)
    page.goto("/try")
    page.get_by_label("Text message").fill("HELP")
    page.get_by_role("button", name="Send text").click()
    reply = page.get_by_role("log").locator(".bubble--text").last.inner_text()
    expect(page.locator("[data-announcer]")).to_contain_text(reply.strip()[:40])


def test_one_page_never_has_two_buttons_of_one_name_nor_one_name_for_two_places(app, page, nurse):
    patient = seed_patient()
    texted_fever(patient, minutes_ago=30)
    texted_fever(patient, "fever again tonight")
    db.session.add(Alert(kind="callback", phone=patient.phone, patient_id=patient.id))
    db.session.commit()
    booked(patient)
    booked(patient, days=12)
    sign_in(page)
    for path in ("/inbox", f"/patients/{patient.id}"):
        page.goto(path)
        found = controls(page)
        buttons = [name for role, name, _ in found if role == "button"]
        assert len(buttons) == len(set(buttons)), (path, buttons)
        places: dict[str, set[str]] = {}
        for role, name, target in found:
            if role == "link":
                places.setdefault(name, set()).add(target)
        assert all(len(targets) == 1 for targets in places.values()), (path, places)


def test_at_375_px_the_appointment_actions_are_on_the_screen(app, phone_page, nurse):
    patient = seed_patient()
    booked(patient)
    sign_in(phone_page)
    phone_page.goto(f"/patients/{patient.id}")
    for name in ("Edit or move", "Cancel"):
        link = phone_page.get_by_role("link", name=re.compile(f"^{name} Biopsy"))
        link.scroll_into_view_if_needed()
        box = link.bounding_box()
        assert 0 <= box["x"] and box["x"] + box["width"] <= 375, (name, box)
    assert_fits(phone_page)


@pytest.fixture
def zoomed_page(browser, live_server):
    """400% zoom of a 1280 px window: 320 CSS pixels wide."""
    context = browser.new_context(viewport={"width": 320, "height": 640}, base_url=live_server)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_every_page_and_state_reflows_at_320_px_and_passes_axe(app, zoomed_page, nurse):
    page = zoomed_page
    patient = seed_patient()
    texted_fever(patient)
    appointment = booked(patient)
    gone = booked(patient, days=12)
    cancel(gone)
    db.session.commit()
    sign_in(page)
    for path in (
        "/inbox",
        "/patients",
        "/patients/new",
        f"/patients/{patient.id}",
        f"/patients/{patient.id}/contact",
        f"/patients/{patient.id}/edit",
        f"/patients/{patient.id}/phone",
        f"/patients/{patient.id}/workup",
        f"/patients/{patient.id}/appointments/new",
        f"/appointments/{appointment.id}/edit",
        f"/appointments/{appointment.id}/cancel",
        "/try",
        "/outbox",
        "/audit",
        "/account",
        "/coordinators",
        "/no-such-page",
    ):
        page.goto(path)
        assert_fits(page)
        assert_accessible(page)
    # States: a refused form, an open close form, a search's results.
    page.goto(f"/patients/{patient.id}/contact")
    page.get_by_role("button", name="Send the text to Ana Ruiz").click()
    expect(page.get_by_text("Type a text, or choose a saved one.").first).to_be_visible()
    assert_fits(page)
    assert_accessible(page)
    page.goto("/inbox")
    page.get_by_text(re.compile("^Close with an outcome")).click()
    assert_fits(page)
    assert_accessible(page)
    page.goto("/patients")
    page.get_by_label("Find by name or number").fill("ruiz")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="Ana Ruiz")).to_be_visible()
    assert_fits(page)
    assert_accessible(page)


def test_a_later_page_of_a_long_inbox_refreshes_itself_in_place_and_passes_axe(
    app, page, nurse, monkeypatch
):
    from navigator.coordinator import inbox

    monkeypatch.setattr(inbox, "PAGE_SIZE", 2)
    app.config["INBOX_POLL_SECONDS"] = 1
    patient = seed_patient()
    for minutes in (30, 20, 10):
        db.session.add(
            Alert(
                kind="callback",
                phone=patient.phone,
                patient_id=patient.id,
                created_at=utcnow() - timedelta(minutes=minutes),
            )
        )
    db.session.commit()
    sign_in(page)
    page.goto("/inbox")
    nav = page.get_by_role("navigation", name="Inbox pages")
    nav.get_by_role("link", name=re.compile("^Next page")).click()
    expect(page.locator("#inbox-range")).to_have_text(
        "Open items 3–3 of 3. Page 2 of 2, 2 items a page."
    )
    assert_fits(page)
    assert_accessible(page)
    db.session.add(Alert(kind="callback", phone=patient.phone, patient_id=patient.id))
    db.session.commit()
    # The refresh keeps the page on screen: the newest item joins page 2.
    expect(page.locator("#inbox-range")).to_have_text(
        "Open items 3–4 of 4. Page 2 of 2, 2 items a page."
    )
    expect(page.locator(".item")).to_have_count(2)
    expect(page).to_have_title(re.compile(r"^\(4\) Inbox"))
    page.get_by_role("navigation", name="Inbox pages").get_by_role(
        "link", name=re.compile("^Previous page")
    ).click()
    expect(page.locator("#inbox-range")).to_contain_text("Open items 1–2 of 4.")
