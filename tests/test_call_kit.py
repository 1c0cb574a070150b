"""One phone-call kit: the navigator's line and a reminder call speak, listen and reach a
person the same way, and a reminder call's keys are the ones written in messages/.

Through the signed webhooks of both calls (the real database, the fake Twilio REST API that
placed the reminder call), with content loaded from a copy of messages/ where a test
changes it.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import pytest
import test_reminder_calls
import test_voice
from test_reminder_calls import called, press, spoken, twiml
from twiml_helpers import dial, parse

from navigator.core import content
from navigator.extensions import db
from navigator.models import Alert

signed = test_reminder_calls.signed  # requests signed for the public URL the calls use


@pytest.fixture
def call(signed):
    """A call to the navigator's line, signed as a reminder call's requests are."""
    return test_voice.Call(signed)


def callbacks() -> list[Alert]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(Alert).filter_by(kind="callback")))


@pytest.fixture
def messages_copy(app, tmp_path):
    """Edit a copy of messages/, then load it in place of the real one (as start-up would)."""
    copy = tmp_path / "messages"
    shutil.copytree(app.extensions["content"].root, copy)

    def edit(path: str, old: str, new: str) -> None:
        target = copy / path
        text = target.read_text("utf-8")
        assert old in text
        target.write_text(text.replace(old, new), "utf-8")

    def load() -> None:
        app.extensions["content"] = content.load(copy)

    edit.load = load
    return edit


# -- a person ---------------------------------------------------------------------------------


def test_pressing_0_on_a_reminder_call_when_nobody_answers_leaves_a_call_back_item(
    new_patient, fake_twilio, signed
):
    patient, reminder = called(new_patient, fake_twilio)
    put_through = press(signed, patient, reminder, "0")
    after = put_through.find("Dial").get("action")
    root = twiml(signed.post(after, {"To": patient.phone, "DialCallStatus": "no-answer"}))
    assert "After the tone, say your name" in spoken(root)
    [item] = callbacks()
    assert (item.phone, item.patient_id, item.detail) == (
        patient.phone,
        patient.id,
        "the care team line did not answer",
    )


def test_a_missed_transfer_leaves_one_call_back_item_on_either_call(
    new_patient, fake_twilio, signed, call
):
    """The same step on both: the line's caller and the reminder's patient are one number."""
    patient, reminder = called(new_patient, fake_twilio, phone=test_voice.CALLER)
    call.start()
    call.press("0")
    call.post(dial(call.last).get("action"), DialCallStatus="no-answer")
    line_said = parse(call.last)
    press(signed, patient, reminder, "0")
    reminder_said = twiml(
        signed.post(
            f"/twilio/reminder-call/{reminder.id}/after-dial",
            {"To": patient.phone, "DialCallStatus": "busy"},
        )
    )
    assert len(callbacks()) == 1  # one waiting call-back per number, whichever call asked
    for root in (line_said, reminder_said):
        record = root.find("Record")
        assert (record.get("maxLength"), record.get("playBeep")) == ("120", "true")


def test_an_answered_transfer_ends_the_reminder_call_and_leaves_nothing(
    new_patient, fake_twilio, signed
):
    patient, reminder = called(new_patient, fake_twilio)
    root = twiml(
        signed.post(
            f"/twilio/reminder-call/{reminder.id}/after-dial",
            {"To": patient.phone, "DialCallStatus": "completed"},
        )
    )
    assert root.find("Hangup") is not None and root.find("Record") is None
    assert callbacks() == []


def test_a_retried_recording_on_a_reminder_call_makes_one_inbox_item(
    new_patient, fake_twilio, signed, app
):
    app.config["CARE_TEAM_PHONE"] = ""
    patient, reminder = called(new_patient, fake_twilio)
    for _ in range(2):
        signed.post(
            f"/twilio/reminder-call/{reminder.id}/recorded",
            {"To": patient.phone, "RecordingSid": "RE1", "RecordingUrl": "https://x/RE1"},
        )
    [item] = db.session.scalars(db.select(Alert).filter_by(kind="voicemail"))
    assert item.appointment_id == reminder.appointment_id


# -- speech -----------------------------------------------------------------------------------


def voices(root: ET.Element) -> set[tuple[str, str, str]]:
    return {
        (say.get("voice"), say.get("language"), say.find("prosody").get("rate"))
        for say in root.iter("Say")
    }


def test_both_calls_speak_with_the_voice_set_in_messages(
    new_patient, fake_twilio, signed, call, messages_copy
):
    patient, reminder = called(new_patient, fake_twilio)
    messages_copy("en/prompts.yaml", 'voice: "Polly.Joanna"', 'voice: "Polly.Kendra"')
    messages_copy("en/prompts.yaml", 'rate: "90%"', 'rate: "85%"')
    messages_copy.load()
    line = parse(call.start())
    reading = twiml(signed.post(f"/twilio/reminder-call/{reminder.id}", {"To": patient.phone}))
    english = ("Polly.Kendra", "en-US", "85%")
    assert english in voices(line) and voices(reading) == {english}
    assert ("Polly.Joanna", "en-US", "90%") not in voices(line)
    assert reading.find("Gather").get("language") == "en-US"


# -- the reminder keypad ----------------------------------------------------------------------


def test_the_reminder_keypad_offers_the_keys_and_words_written_in_messages(
    new_patient, fake_twilio, signed, app
):
    patient, reminder = called(new_patient, fake_twilio, language="es")
    root = twiml(signed.post(f"/twilio/reminder-call/{reminder.id}", {"To": patient.phone}))
    catalog = app.extensions["content"]
    offered = " ".join(
        catalog.render(f"reminders.voice.keys.{action}", "es", digit=key)
        for key, action in catalog.reminder_keys.items()
    )
    assert offered in spoken(root.find("Gather"))
    assert offered.startswith("Para confirmar, oprima 1.")


def test_changing_a_key_in_messages_changes_what_the_call_offers_and_obeys(
    new_patient, fake_twilio, signed, messages_copy
):
    patient, reminder = called(new_patient, fake_twilio)
    messages_copy("reminder_keypad.yaml", '"9": repeat', '"8": repeat')
    messages_copy.load()
    root = twiml(signed.post(f"/twilio/reminder-call/{reminder.id}", {"To": patient.phone}))
    assert "To hear this again, press 8." in spoken(root)
    assert "press 9" not in spoken(root)
    assert "You have a visit on Thu Feb 12" in spoken(press(signed, patient, reminder, "8"))
    assert spoken(press(signed, patient, reminder, "9")).startswith("Sorry, that is not one")


@pytest.mark.parametrize(
    ("keypad", "problem"),
    [
        ('"1": confirm\n"2": new_time\n"9": repeat\n', "needs one key"),
        ('"1": confirm\n"2": new_time\n"9": repeat\n"0": person\n"5": dance\n', "unknown action"),
        ('"1": confirm\n"2": new_time\n"99": repeat\n"0": person\n', "one digit"),
    ],
)
def test_a_broken_reminder_keypad_stops_start_up(app, tmp_path, keypad, problem):
    copy = tmp_path / "messages"
    shutil.copytree(app.extensions["content"].root, copy)
    (copy / "reminder_keypad.yaml").write_text(keypad, "utf-8")
    with pytest.raises(content.ContentError, match=problem):
        content.load(copy)


def test_keypad_words_that_do_not_say_the_key_stop_start_up(app, tmp_path):
    copy = tmp_path / "messages"
    shutil.copytree(app.extensions["content"].root, copy)
    spanish = copy / "es" / "reminders.yaml"
    text = spanish.read_text("utf-8")
    spanish.write_text(text.replace("Para confirmar, oprima {digit}.", "Para confirmar."), "utf-8")
    with pytest.raises(content.ContentError, match="reminders.voice.keys.confirm"):
        content.load(copy)
