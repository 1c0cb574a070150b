"""When reminders go, what they say, and to whom: specifications a patient would notice."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from readability import is_gsm7

from navigator.catalog import catalog
from navigator.extensions import db
from navigator.models import Alert, Contact, EarlyReport, Message, Reminder, utcnow
from navigator.patients import appointments
from navigator.reminders import pacing, planning, wording, worker
from navigator.telephony import delivery

UTC_NOW = datetime(2026, 2, 1, 15, 0)  # a Sunday afternoon, far from any clock change
KINDS = ("ct", "pet-ct", "bone-scan", "mri", "biopsy", "visit")
PLACE = "Mercy Imaging, 200 Main St"


def utc(local: str, zone: str) -> datetime:
    """A wall-clock time in ``zone`` as the naive UTC the database stores."""
    aware = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone))
    return aware.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def due_times(appointment) -> dict[str, datetime]:
    return {
        r.offset: r.due_at
        for r in appointment.reminders
        if r.role == "patient" and r.status == "pending"
    }


def book(patient, at: str, zone: str = "America/New_York", kind: str = "ct", now=UTC_NOW, **kw):
    appointment = appointments.schedule(
        patient, kind, datetime.fromisoformat(at), zone, kw.pop("location", PLACE), now=now, **kw
    )
    db.session.commit()
    return appointment


def outbox() -> list[Message]:
    return list(db.session.scalars(db.select(Message).order_by(Message.id)))


# -- when ------------------------------------------------------------------------------------


def test_reminders_go_three_days_one_day_and_two_hours_before(new_patient):
    appointment = book(new_patient(), "2026-02-12 14:00")
    assert due_times(appointment) == {
        "3d": utc("2026-02-09 14:00", "America/New_York"),
        "1d": utc("2026-02-11 14:00", "America/New_York"),
        "2h": utc("2026-02-12 12:00", "America/New_York"),
    }


def test_day_reminders_keep_the_wall_clock_across_the_us_spring_change(new_patient):
    # Clocks in New York go forward on Sunday 8 March 2026.
    appointment = book(new_patient(), "2026-03-09 14:00")
    due = due_times(appointment)
    assert due["3d"] == datetime(2026, 3, 6, 19, 0)  # 14:00 EST
    assert due["1d"] == datetime(2026, 3, 8, 18, 0)  # 14:00 EDT
    assert due["2h"] == datetime(2026, 3, 9, 16, 0)


def test_day_reminders_keep_the_wall_clock_across_the_us_autumn_change(new_patient):
    # Clocks in New York go back on Sunday 1 November 2026.
    appointment = book(new_patient(), "2026-11-02 14:00", now=datetime(2026, 10, 1))
    due = due_times(appointment)
    assert due["3d"] == datetime(2026, 10, 30, 18, 0)  # 14:00 EDT
    assert due["1d"] == datetime(2026, 11, 1, 19, 0)  # 14:00 EST
    assert due["2h"] == datetime(2026, 11, 2, 17, 0)


@pytest.mark.parametrize(
    ("start", "three_days", "one_day"),
    [
        # Berlin goes forward on 29 March 2026 and back on 25 October 2026.
        ("2026-03-30 10:00", datetime(2026, 3, 27, 9, 0), datetime(2026, 3, 29, 8, 0)),
        ("2026-10-26 10:00", datetime(2026, 10, 23, 8, 0), datetime(2026, 10, 25, 9, 0)),
    ],
)
def test_day_reminders_keep_the_wall_clock_across_both_changes_in_berlin(
    new_patient, start, three_days, one_day
):
    patient = new_patient(timezone="Europe/Berlin")
    appointment = book(patient, start, zone="Europe/Berlin", now=datetime(2026, 3, 1))
    due = due_times(appointment)
    assert due["3d"] == three_days
    assert due["1d"] == one_day


def test_a_reminder_that_would_wake_the_patient_goes_the_evening_before(new_patient):
    appointment = book(new_patient(), "2026-02-12 08:30")
    # 2h before is 06:30, inside 21:00-08:00: it moves to just before 21:00 the evening before.
    assert due_times(appointment)["2h"] == utc("2026-02-11 20:50", "America/New_York")


def test_quiet_hours_are_the_patients_own_when_set(new_patient):
    patient = new_patient(quiet_start="22:00", quiet_end="07:00")
    appointment = book(patient, "2026-02-12 08:30")
    assert due_times(appointment)["2h"] == utc("2026-02-11 21:50", "America/New_York")


def test_quiet_hours_are_kept_in_the_patients_zone_not_the_sites(new_patient):
    patient = new_patient(timezone="America/Los_Angeles")
    appointment = book(patient, "2026-02-12 10:00", zone="America/New_York")
    # 2h before is 08:00 in New York but 05:00 where the patient sleeps.
    assert due_times(appointment)["2h"] == utc("2026-02-11 20:50", "America/Los_Angeles")


def test_moving_out_of_quiet_hours_is_right_on_the_night_the_clocks_go_back(new_patient):
    appointment = book(new_patient(), "2026-11-01 09:00", now=datetime(2026, 10, 1))
    # 2h before is 07:00 EST; the evening before is still summer time (EDT).
    assert due_times(appointment)["2h"] == datetime(2026, 11, 1, 0, 50)


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin", "Australia/Sydney"])
@pytest.mark.parametrize(
    "day", ["2026-03-08", "2026-03-29", "2026-04-05", "2026-10-04", "2026-10-25", "2026-11-01"]
)
def test_no_reminder_is_ever_planned_in_the_past_in_quiet_hours_or_after_the_start(
    new_patient, zone, day
):
    patient = new_patient(timezone=zone)
    now = datetime.fromisoformat(day) - timedelta(days=2, hours=5)
    for hour in range(0, 24, 3):
        appointment = book(patient, f"{day} {hour:02d}:30", zone=zone, now=now)
        for reminder in appointment.reminders:
            assert now <= reminder.due_at < appointment.starts_at
            assert not planning.in_quiet_hours(patient, reminder.due_at)


def test_an_appointment_booked_late_gets_only_the_reminders_still_ahead(new_patient):
    now = utc("2026-02-11 09:00", "America/New_York")
    appointment = book(new_patient(), "2026-02-12 14:00", now=now)
    assert due_times(appointment) == {
        "1d": utc("2026-02-11 14:00", "America/New_York"),
        "2h": utc("2026-02-12 12:00", "America/New_York"),
    }


def test_an_appointment_booked_too_late_for_any_offset_gets_one_reminder_now(new_patient):
    now = utc("2026-02-12 12:30", "America/New_York")
    appointment = book(new_patient(), "2026-02-12 14:00", now=now)
    assert due_times(appointment) == {"2h": now}


def test_an_appointment_booked_at_night_for_the_next_morning_is_reminded_when_quiet_hours_end(
    new_patient,
):
    now = utc("2026-02-11 21:30", "America/New_York")
    appointment = book(new_patient(), "2026-02-12 09:30", kind="biopsy", now=now)
    assert due_times(appointment) == {"2h": utc("2026-02-12 08:00", "America/New_York")}
    prep = [r for r in appointment.reminders if r.role == "prep"]
    assert [r.due_at for r in prep] == [utc("2026-02-12 08:01", "America/New_York")]


def test_a_reminder_whose_evening_slot_has_passed_is_not_sent_at_night(new_patient):
    now = utc("2026-02-11 22:00", "America/New_York")
    appointment = book(new_patient(), "2026-02-12 07:30", now=now)
    assert appointment.reminders == []


def test_moving_an_appointment_replaces_its_unsent_reminders(new_patient):
    appointment = book(new_patient(), "2026-02-12 14:00")
    old = {r.id for r in appointment.reminders}
    appointments.move(appointment, datetime(2026, 2, 19, 10, 0), now=UTC_NOW)
    db.session.commit()
    rows = {r.id: r for r in db.session.scalars(db.select(Reminder))}
    assert {rows[i].status for i in old} == {"cancelled"}
    assert due_times(appointment)["1d"] == utc("2026-02-18 10:00", "America/New_York")
    worker.send_due(utc("2026-02-11 14:05", "America/New_York"), "w")
    assert outbox() == []


def test_cancelling_an_appointment_means_no_reminder_is_sent(new_patient):
    appointment = book(new_patient(), "2026-02-12 14:00")
    appointments.cancel(appointment, now=UTC_NOW)
    db.session.commit()
    assert worker.send_due(datetime(2026, 2, 12, 18, 0), "w") == {}
    assert outbox() == []


# -- who -------------------------------------------------------------------------------------


def test_a_patient_who_texts_stop_after_booking_gets_no_reminder(new_patient):
    patient = new_patient()
    book(patient, "2026-02-12 14:00")
    contact = db.session.scalar(db.select(Contact).filter_by(phone=patient.phone))
    contact.opted_out_at = datetime(2026, 2, 5)
    db.session.commit()
    counts = worker.send_due(utc("2026-02-11 14:00", "America/New_York"), "w")
    assert counts["skipped"] == 1
    assert outbox() == []


def test_a_caregiver_with_reminder_scope_gets_a_copy_and_one_on_record_does_not(new_patient):
    patient = new_patient(caregivers=[("+16175550198", "reminders"), ("+16175550197", "none")])
    book(patient, "2026-02-12 14:00")
    worker.send_due(utc("2026-02-09 14:00", "America/New_York"), "w")
    texts = {m.phone: m.body for m in outbox()}
    assert set(texts) == {patient.phone, "+16175550198"}
    assert texts["+16175550198"].startswith("Hope Clinic Navigator: For Ana: visit Thu Feb 12")


def test_a_caregiver_in_another_zone_never_gets_a_copy_in_their_night(new_patient):
    caregiver = "+13105550198"  # lives in Los Angeles; the patient in New York
    patient = new_patient(caregivers=[(caregiver, "reminders", "America/Los_Angeles")])
    appointment = book(patient, "2026-02-12 10:00")  # 2h before is 8:00 NY, 5:00 LA
    rows = db.session.scalars(
        db.select(Reminder).filter_by(appointment_id=appointment.id, status="pending")
    ).all()
    mine = {r.offset: r.due_at for r in rows if r.role == "patient"}
    theirs = {r.offset: r.due_at for r in rows if r.role == "caregiver"}
    assert mine["2h"] == utc("2026-02-12 08:00", "America/New_York")
    la = ZoneInfo("America/Los_Angeles")
    for due in theirs.values():
        local = due.replace(tzinfo=ZoneInfo("UTC")).astimezone(la).time()
        assert datetime(2026, 1, 1, 8).time() <= local < datetime(2026, 1, 1, 21).time()
    # the two-hour copy moves to the evening before, in Los Angeles
    assert theirs["2h"].replace(tzinfo=ZoneInfo("UTC")).astimezone(la).strftime("%a %H") == "Wed 20"
    assert (
        theirs["1d"].replace(tzinfo=ZoneInfo("UTC")).astimezone(la).strftime("%a %H") == "Tue 20"
    )  # 10:00 NY the day before is 7:00 in LA: moved too


def test_a_caregiver_copy_booked_too_late_for_the_evening_before_goes_in_their_morning(
    new_patient,
):
    caregiver = "+13105550198"  # Los Angeles; the patient in New York
    patient = new_patient(caregivers=[(caregiver, "reminders", "America/Los_Angeles")])
    # Booked at 00:30 in New York (21:30 in LA) for noon: the 2-hour reminder is 10:00 NY,
    # 7:00 LA, night there, and the evening before in LA has already passed.
    appointment = book(patient, "2026-02-12 12:00", now=utc("2026-02-12 00:30", "America/New_York"))
    rows = db.session.scalars(
        db.select(Reminder).filter_by(appointment_id=appointment.id, status="pending")
    ).all()
    [copy] = [r for r in rows if r.role == "caregiver"]
    assert copy.due_at == utc("2026-02-12 08:00", "America/Los_Angeles")  # their morning
    assert copy.due_at < appointment.starts_at


def test_an_opted_out_caregiver_gets_nothing_while_the_patient_still_does(new_patient):
    patient = new_patient(caregivers=[("+16175550198", "reminders")])
    db.session.add(Contact(phone="+16175550198", opted_out_at=datetime(2026, 1, 2)))
    db.session.commit()
    book(patient, "2026-02-12 14:00")
    worker.send_due(utc("2026-02-09 14:00", "America/New_York"), "w")
    assert [m.phone for m in outbox()] == [patient.phone]


# -- what ------------------------------------------------------------------------------------


def test_the_default_text_names_no_test_and_says_how_to_confirm_and_stop(new_patient):
    book(new_patient(), "2026-02-12 14:00", kind="pet-ct")
    worker.send_due(utc("2026-02-09 14:00", "America/New_York"), "w")
    [text] = [m.body for m in outbox()]
    assert text == (
        "Hope Clinic Navigator: Visit Thu Feb 12 at 2:00 PM, "
        f"{PLACE}. Reply C to confirm, R for a new time. STOP to opt out."
    )


def test_a_patient_who_chose_detailed_texts_is_told_the_test(new_patient):
    patient = new_patient(
        detailed_texts=True,
        detailed_texts_at=datetime(2026, 1, 5),
        detailed_texts_how="asked in clinic; told texts are not secure",
    )
    book(patient, "2026-02-12 14:00", kind="pet-ct")
    worker.send_due(utc("2026-02-09 14:00", "America/New_York"), "w")
    assert outbox()[0].body.startswith("Hope Clinic Navigator: PET/CT scan Thu Feb 12")


def test_the_day_before_reminder_is_followed_by_the_sites_own_prep(new_patient):
    patient = new_patient(detailed_texts=True, detailed_texts_at=datetime(2026, 1, 5))
    book(patient, "2026-02-12 14:00", prep_notes="No food after 8 AM. Bring your scans.")
    worker.send_due(utc("2026-02-11 14:05", "America/New_York"), "w")
    bodies = [m.body for m in outbox()]
    assert len(bodies) == 2
    assert bodies[1] == (
        "Hope Clinic Navigator: To get ready for your visit Thu Feb 12: "
        "No food after 8 AM. Bring your scans."
    )


def test_without_site_notes_the_day_before_prep_is_the_generic_safe_one(new_patient):
    patient = new_patient(detailed_texts=True, detailed_texts_at=datetime(2026, 1, 5))
    book(patient, "2026-02-12 14:00", kind="biopsy")
    worker.send_due(utc("2026-02-11 14:05", "America/New_York"), "w")
    prep = outbox()[1].body
    assert "blood thinners" in prep and "Ask the team before you stop any medicine" in prep


#: Words that would tell a reader of the phone what the patient is being checked for.
TELLING_WORDS = re.compile(
    r"cancer|c[aá]ncer|scan|\bct\b|pet|mri|biops|bone|hueso|[óo]sea|breast|seno|mama"
    r"|dye|tinte|contrast|radio|tomograf|resonancia|gammagraf|tumor|oncolog|chemo|quimio",
    re.IGNORECASE,
)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("language", ["en", "es"])
def test_a_patient_who_did_not_choose_detail_gets_a_prep_text_naming_no_test_or_body_part(
    app, fake_twilio, new_patient, kind, language
):
    """Someone else who sees the phone learns of a visit, never of a scan or a biopsy."""
    notes = "Bring your last bone scan report." if kind == "bone-scan" else None
    patient = new_patient(language=language, quiet_start="00:00", quiet_end="00:00")
    book(patient, "2026-02-12 14:00", kind=kind, prep_notes=notes)
    worker.send_due(utc("2026-02-11 14:05", "America/New_York"), "w")
    bodies = [received.body for received in fake_twilio.accepted()]
    assert len(bodies) == 2  # the day-before reminder, then how to get ready
    for body in bodies:
        assert not TELLING_WORDS.search(body), body
    [prep] = [body for body in bodies if "{program}:" not in body and "(617) 555-0100" in body]
    assert ("NEXT" if language == "en" else "CITA") in prep


def test_a_patient_who_did_not_choose_detail_gets_the_prep_by_replying_next(new_patient, twilio):
    """The details are answered to the patient's own phone only, when they ask for them."""
    from twiml_helpers import texts_of

    patient = new_patient(quiet_start="00:00", quiet_end="00:00")
    soon = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%d 14:00")
    book(patient, soon, kind="bone-scan", now=utcnow())
    reply = twilio.post(
        "/twilio/sms",
        {
            "MessageSid": "SM" + "7" * 32,
            "AccountSid": "AC" + "0" * 32,
            "From": patient.phone,
            "To": "+12025550100",
            "Body": "NEXT",
            "NumMedia": "0",
        },
    )
    prep = catalog().render("reminders.prep.bone-scan", "en")
    assert any(prep in text for text in texts_of(reply.data))


def test_a_patient_who_chose_detail_gets_the_test_and_its_prep_by_text(
    app, fake_twilio, new_patient
):
    patient = new_patient(
        quiet_start="00:00", quiet_end="00:00", detailed_texts=True, detailed_texts_at=UTC_NOW
    )
    book(patient, "2026-02-12 14:00", kind="bone-scan")
    worker.send_due(utc("2026-02-11 14:05", "America/New_York"), "w")
    bodies = sorted(received.body for received in fake_twilio.accepted())
    assert len(bodies) == 2
    assert any("Bone scan Wed Feb 11" in body or "Bone scan Thu Feb 12" in body for body in bodies)
    assert any(catalog().render("reminders.prep.bone-scan", "en") in body for body in bodies)


def test_a_reminder_call_to_a_patient_who_did_not_choose_detail_names_no_test(new_patient):
    patient = new_patient(channel="voice", quiet_start="00:00", quiet_end="00:00")
    appointment = book(patient, "2026-02-12 14:00", kind="biopsy")
    [day_before] = [r for r in appointment.reminders if r.offset == "1d"]
    spoken = " ".join(wording.voice_lines(day_before))
    assert "NEXT" in spoken
    assert not TELLING_WORDS.search(spoken), spoken


def test_a_spanish_speaking_patient_gets_the_reminder_in_spanish(new_patient):
    book(new_patient(language="es"), "2026-02-12 14:00")
    worker.send_due(utc("2026-02-09 14:00", "America/New_York"), "w")
    assert outbox()[0].body.startswith("Hope Clinic Navigator: Cita el")


def test_reminders_that_piled_up_while_the_worker_was_down_go_out_once(new_patient):
    book(new_patient(), "2026-02-12 14:00")
    counts = worker.send_due(utc("2026-02-11 14:05", "America/New_York"), "w")
    assert counts == {"sent": 2, "superseded": 1}  # the 1d reminder and its prep; not the 3d


def _realistic(key: str, language: str) -> str:
    return catalog().render(
        key,
        language,
        program="Hope Clinic Navigator",
        date="Wed Sep 30",
        time="10:30 AM",
        place="Mercy Imaging, 2100 Main St",
        name="Margaret",
        care_team="(617) 555-0100",
    )


@pytest.mark.parametrize(
    "key",
    [
        "reminders.sms.default",
        "reminders.sms.caregiver",
        *[f"reminders.sms.detailed.{kind}" for kind in KINDS],
    ],
)
def test_every_english_reminder_fits_one_gsm7_segment_and_spanish_fits_160(app, key):
    english = _realistic(key, "en")
    assert is_gsm7(english) and len(english) <= 160, (len(english), english)
    assert len(_realistic(key, "es")) <= 160


# Reminder wording is held to the readability standard of content-rubric 7.6 with every other
# string, in tests/test_content.py (per-string gates, pooled grade and INFLESZ).


def test_no_prep_wording_tells_anyone_to_stop_or_change_a_medicine(app):
    for language in ("en", "es"):
        for kind in KINDS:
            text = catalog().render(f"reminders.prep.{kind}", language).lower()
            for banned in (
                "stop taking",
                "stop your",
                "do not take",
                "skip your",
                "deje de tomar",
                "no tome su",
            ):
                assert banned not in text, (language, kind)


# -- delivery callbacks and the rate limit ---------------------------------------------------


def _sent_reminder(new_patient):
    book(new_patient(), "2026-02-12 14:00")
    worker.send_due(utc("2026-02-09 14:00", "America/New_York"), "w")
    return db.session.scalar(db.select(Reminder).where(Reminder.status == "sent"))


def test_a_late_sent_callback_never_undoes_delivered(new_patient):
    reminder = _sent_reminder(new_patient)
    delivery.record(reminder.provider_sid, "delivered", None, now=utcnow())
    delivery.record(reminder.provider_sid, "sent", None, now=utcnow())
    delivery.record(reminder.provider_sid, "queued", None, now=utcnow())
    db.session.commit()
    message = db.session.scalar(db.select(Message).filter_by(provider_sid=reminder.provider_sid))
    assert (reminder.status, message.status) == ("delivered", "delivered")


def test_an_undelivered_text_alerts_the_coordinators_once(new_patient):
    reminder = _sent_reminder(new_patient)
    delivery.record(reminder.provider_sid, "undelivered", "30003", now=utcnow())
    delivery.record(reminder.provider_sid, "undelivered", "30003", now=utcnow())
    delivery.record(reminder.provider_sid, "sent", None, now=utcnow())
    db.session.commit()
    alerts = list(db.session.scalars(db.select(Alert)))
    assert [a.kind for a in alerts] == ["delivery_failed"]
    assert (reminder.status, reminder.error_code) == ("undelivered", "30003")


def test_a_report_that_comes_before_its_sid_is_recorded_is_applied_at_the_next_tick(
    app, fake_twilio
):
    """The report crossed the sender's recording of the SID; the worker's tick catches it."""
    from navigator.telephony import outbound

    sid, _ = outbound.request_twilio("sms", "+16175552301", "Hello")
    assert delivery.record(sid, "undelivered", "30003", now=utcnow()) is None
    db.session.commit()
    message = outbound.prepare_sms("+16175552301", "Hello")
    outbound.record_result(message, sid, "queued")
    db.session.commit()
    worker.send_due(utcnow(), "w")
    db.session.expire_all()
    assert (message.status, message.error_code) == ("undelivered", "30003")
    assert [a.kind for a in db.session.scalars(db.select(Alert))] == ["delivery_failed"]


def test_a_report_for_a_sid_never_recorded_changes_nothing_and_is_dropped_in_two_days(app):
    assert delivery.record("SM" + "f" * 32, "delivered", None, now=UTC_NOW) is None
    db.session.commit()
    worker.send_due(UTC_NOW + timedelta(days=1), "w")
    assert db.session.scalar(db.select(db.func.count(EarlyReport.id))) == 1
    worker.send_due(UTC_NOW + timedelta(days=2, minutes=1), "w")
    assert db.session.scalar(db.select(db.func.count(EarlyReport.id))) == 0
    assert outbox() == []


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_the_rate_limit_spaces_sends_and_never_goes_above_it():
    clock = FakeClock()
    limiter = pacing.RateLimiter(4.0, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(9):
        limiter.acquire()
        stamps.append(clock.now)
    gaps = [later - earlier for earlier, later in itertools.pairwise(stamps)]
    assert all(gap == pytest.approx(0.25 / 0.97) for gap in gaps)  # 3% under 4 a second


def test_a_rate_of_zero_lifts_the_limit():
    clock = FakeClock()
    limiter = pacing.RateLimiter(0, clock=clock, sleep=clock.sleep)
    for _ in range(50):
        limiter.acquire()
    assert clock.slept == []


def test_the_worker_paces_outbox_sends_with_the_configured_rate(app, new_patient):
    for index in range(3):
        book(new_patient(phone=f"+1617555{index + 300:04d}"), "2026-02-12 14:00")
    clock = FakeClock()
    limiter = pacing.RateLimiter(2.0, clock=clock, sleep=clock.sleep)
    worker.send_due(utc("2026-02-09 14:00", "America/New_York"), "w", limiter=limiter)
    assert clock.slept == pytest.approx([0.5 / 0.97, 0.5 / 0.97])


def test_a_failed_text_reported_through_the_status_webhook_raises_one_alert(new_patient, app):
    from navigator.telephony import delivery

    reminder = _sent_reminder(new_patient)
    delivery.record(reminder.provider_sid, "failed", "30006", now=datetime(2026, 2, 9, 20, 0))
    db.session.commit()
    [alert] = db.session.scalars(db.select(Alert))
    assert alert.appointment_id == reminder.appointment_id
    assert reminder.status == "failed"


@pytest.mark.postgres_only
def test_two_workers_share_one_send_rate_on_postgresql(app):
    """Two worker processes each pace through the same database row, so together they
    never go faster than SEND_RATE_PER_SECOND."""
    waits: list[float] = []
    first, second = (pacing.SharedRateLimiter(5.0, db.engine, sleep=waits.append) for _ in range(2))
    for _ in range(5):
        first.acquire()
        second.acquire()
    # Ten takers, one after another: the first goes at once, the n-th waits n-1 intervals.
    interval = 1 / (5.0 * pacing.RateLimiter.HEADROOM)
    assert len(waits) == 9
    assert waits == sorted(waits)
    gaps = [later - earlier for earlier, later in itertools.pairwise(waits)]
    assert all(gap == pytest.approx(interval, abs=0.05) for gap in gaps)


def test_the_embedded_mode_paces_in_process(app):
    app.config["SEND_RATE_PER_SECOND"] = 3.0
    app.extensions.pop("reminder_rate", None)
    limiter = pacing.process_limiter()
    expected = (
        pacing.SharedRateLimiter if db.engine.dialect.name == "postgresql" else (pacing.RateLimiter)
    )
    assert type(limiter) is expected and limiter.rate == 3.0


def test_a_late_caregiver_copy_waits_for_morning_where_the_caregiver_lives(new_patient):
    caregiver = "+13105550198"
    patient = new_patient(caregivers=[(caregiver, "reminders", "America/Los_Angeles")])
    book(patient, "2026-02-12 14:00")
    # The copies were planned for daytime in both zones, but a worker that was down catches
    # up at 9:00 in New York, which is 6:00 in Los Angeles: the patient's texts go, the
    # caregiver's wait for the end of the night where the caregiver lives.
    worker.send_due(utc("2026-02-12 09:00", "America/New_York"), "w")
    sent_to = [m.phone for m in outbox()]
    assert patient.phone in sent_to and caregiver not in sent_to
    waiting = db.session.scalars(
        db.select(Reminder).filter_by(recipient_phone=caregiver, status="pending")
    ).all()
    assert waiting and all(
        r.due_at >= utc("2026-02-12 08:00", "America/Los_Angeles") for r in waiting
    )


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_longest_preparation_notes_a_site_may_enter_fit_one_text(new_patient, language):
    from navigator.patients.appointments import PREP_MAX

    patient = new_patient(language=language, detailed_texts=True, detailed_texts_at=UTC_NOW)
    notes = ("Bring your list of medicines and arrive early. " * 10)[:PREP_MAX]
    appointment = book(patient, "2026-02-12 14:00", prep_notes=notes)
    [prep] = [r for r in appointment.reminders if r.role == "prep"]
    text = wording.sms_text(prep)
    assert notes.strip() in text and len(text) <= 320
