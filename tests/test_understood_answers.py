"""A patient writing in their own words gets an answer to what they asked, or a person.

End to end through the SMS webhook (signed requests, the real database): the reading of
free text (navigator/understanding.py) decides the answer; what cannot be answered goes to
the coordinators' inbox as one "question for a person" per patient.
"""

from __future__ import annotations

from datetime import timedelta

import test_sms
from coordinator_support import make_coordinator, post_form, sign_in

from navigator.extensions import db
from navigator.models import Alert, Appointment, Message, MessageReading, utcnow
from navigator.patients import appointments
from navigator.patients.enrolment import NewPatient, enroll

PHONE = test_sms.PHONE
text = test_sms.text  # the signed texting fixture, shared


def words(app, key, language="en", **values):
    base = {
        "program": "Hope Clinic Navigator",
        "care_team": "(617) 555-0100",
        "support": "(617) 555-0100",
        "team_start": "08:00",
        "team_end": "17:00",
    }
    return app.extensions["content"].render(key, language, **{**base, **values})


def alerts(kind: str) -> list[Alert]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(Alert).filter_by(kind=kind)))


def patient_with(*kinds: str, language: str = "en"):
    """An enrolled patient with an upcoming appointment of each kind, a day apart."""
    now = utcnow()
    patient = enroll(NewPatient("Ana Demo", PHONE, language=language))
    for day, kind in enumerate(kinds, start=3):
        appointments.schedule(
            patient,
            kind,
            (now + timedelta(days=day)).replace(hour=14, minute=0, second=0, microsecond=0),
            "America/New_York",
            "Main campus",
            now=now,
        )
    db.session.commit()
    return patient


def test_cant_make_my_biopsy_asks_for_a_new_time_for_the_biopsy_like_replying_r(text, app):
    patient_with("ct", "biopsy")
    replies = text("i cant make my biopsy, can we do another day")
    db.session.expire_all()
    biopsy = db.session.scalar(db.select(Appointment).filter_by(kind="biopsy"))
    ct = db.session.scalar(db.select(Appointment).filter_by(kind="ct"))
    assert (biopsy.status, ct.status) == ("reschedule_requested", "scheduled")
    assert [a.appointment_id for a in alerts("reschedule")] == [biopsy.id]
    assert "Sorry, I did not get that" not in " ".join(replies)


def test_running_late_gets_a_kind_answer_not_a_definition_or_an_alarm(text, app):
    replies = text("running 20 min late for my ct")
    assert replies == [words(app, "answers.running_late")]
    assert alerts("red_flag") == []


def test_a_preparation_question_names_the_patients_own_test(text, app):
    patient_with("ct")
    replies = text("am i allowed to have coffee before the ct")
    joined = " ".join(replies)
    assert joined.startswith("About your CT scan on ")
    assert words(app, "answers.prep_eating") in joined


def test_a_blood_thinner_question_says_who_to_call_never_a_dose_or_to_stop(text, app):
    replies = text("i take eliquis, do i keep taking it before the biopsy?")
    joined = " ".join(replies).lower()
    assert joined == words(app, "answers.prep_blood_thinners").lower()
    assert "(617) 555-0100" in joined and "stop taking" not in joined and " mg" not in joined


def test_fear_gets_a_warm_answer_with_no_numbers_and_a_person(text, app):
    replies = text("im scared is this the end")
    assert replies == [words(app, "answers.prognosis_fear")]
    assert replies[0].startswith("I'm sorry you're scared.")
    assert "Reply CALL" in replies[0] and "%" not in replies[0]


def test_who_is_this_names_the_program_why_and_how_to_stop(text, app):
    [reply] = text("what is this service")
    assert "Hope Clinic Navigator" in reply and "reminders" in reply and "STOP" in reply


def test_a_spanish_question_is_answered_in_spanish(text, app):
    assert text("cuando me dan los resultados") == [words(app, "answers.results_when", "es")]


def test_a_near_miss_gets_no_alert_but_what_to_do_if_it_comes(text, app):
    replies = text("no fever today, feeling good")
    assert alerts("red_flag") == []
    assert replies[0] == words(app, "answers.near_miss")


def test_an_unsure_message_from_a_patient_goes_to_a_person_with_the_safety_net(text, app):
    patient = patient_with()
    first = text("purple kettle on the moon")
    assert first == [words(app, "answers.person_will_reply")]
    assert "08:00" in first[0] and "911" in first[0]
    text("also the green one by the door")
    [item] = alerts("question")  # one open item per patient, the later message added to it
    assert item.patient_id == patient.id
    readings = db.session.scalars(db.select(MessageReading).filter_by(alert_id=item.id)).all()
    bodies = {db.session.get(Message, r.message_id).body for r in readings}
    assert bodies == {"purple kettle on the moon", "also the green one by the door"}


def test_an_unsure_message_from_an_unknown_number_gets_the_menu_and_no_inbox_item(text, app):
    replies = text("purple kettle on the moon")
    assert words(app, "prompts.sms.not_understood") in replies[0]
    assert alerts("question") == []


# -- after STOP -----------------------------------------------------------------------


def test_after_stop_nothing_is_sent_until_start_but_a_warning_sign_reaches_the_inbox(text, app):
    assert text("STOP") == [words(app, "prompts.sms.stop")]
    assert text("when do i get my results") == []
    assert text("HELP") == []
    assert text("i cant breathe") == []  # Twilio would refuse it (21610): call the patient
    [alert] = alerts("red_flag")
    assert alert.detail == "breathing_chest"
    inbound = db.session.scalars(db.select(Message.body).filter_by(direction="in")).all()
    assert "when do i get my results" in inbound and "i cant breathe" in inbound
    assert text("START") == [words(app, "prompts.sms.start")]
    assert text("when do i get my results") == [words(app, "answers.results_when")]


# -- the labelling page and the export -------------------------------------------------


def test_a_coordinator_labels_a_message_the_navigator_did_not_understand(client, text, app):
    text("purple kettle on the moon")
    make_coordinator()
    sign_in(client)
    page = client.get("/understanding").get_data(as_text=True)
    assert "purple kettle on the moon" in page
    reading = db.session.scalar(db.select(MessageReading))
    response = post_form(
        client,
        f"/understanding/{reading.id}/label",
        {"label": "other"},
        page="/understanding",
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(MessageReading, reading.id).label == "other"
    assert "purple kettle" not in client.get("/understanding").get_data(as_text=True)


def test_labelling_needs_a_csrf_token_and_a_known_label(client, text, app):
    text("purple kettle on the moon")
    make_coordinator()
    sign_in(client)
    reading = db.session.scalar(db.select(MessageReading))
    assert (
        client.post(f"/understanding/{reading.id}/label", data={"label": "other"}).status_code
        == 400
    )
    response = post_form(
        client, f"/understanding/{reading.id}/label", {"label": "made_up"}, page="/understanding"
    )
    assert response.status_code == 400


def test_the_labelling_page_needs_a_sign_in(client):
    assert client.get("/understanding").status_code in (302, 401)


def test_export_writes_the_labelled_words_with_a_warning(client, text, app, runner, tmp_path):
    text("purple kettle on the moon")
    reading = db.session.scalar(db.select(MessageReading))
    reading.label = "other"
    db.session.commit()
    out = tmp_path / "labels.yaml"
    result = runner.invoke(args=["understanding", "export", str(out)])
    assert result.exit_code == 0, result.output
    written = out.read_text("utf-8")
    assert written.startswith("# WARNING: this file holds patients' own words")
    assert "intent: other" in written and "- purple kettle on the moon" in written
