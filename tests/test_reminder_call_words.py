"""On a reminder call, what a patient says is understood as on the navigator's line.

Through the signed reminder-call webhook, with the real understanding step and engine: words
about the visit do what its keys do, asking for someone puts the call through, a question
gets the answer the line would give (or becomes a question for a person), in English and
Spanish. Words nobody can read with confidence still count as silence (an answering
machine's greeting must end in a text, not in the inbox).
"""

from __future__ import annotations

import pytest
import test_reminder_calls
from test_reminder_calls import called, said_on_the_call, spoken
from test_understood_answers import alerts, words

from navigator.extensions import db
from navigator.models import Message
from navigator.reminders import keypad as reminder_keypad
from navigator.reminders import wording

signed = test_reminder_calls.signed  # requests signed for the public URL the calls use


@pytest.mark.parametrize(
    ("language", "speech", "heard"),
    [
        ("en", "I can't make it", "A nurse navigator will call you"),
        ("es", "no voy a poder ir a la cita", "Una enfermera"),
    ],
)
def test_saying_one_cannot_make_it_asks_for_a_new_time_as_pressing_2_does(
    new_patient, fake_twilio, signed, language, speech, heard
):
    patient, reminder = called(new_patient, fake_twilio, language=language)
    root = said_on_the_call(signed, patient, reminder, speech)
    assert heard in spoken(root) and root.find("Hangup") is not None
    assert reminder.appointment.status == "reschedule_requested"
    [item] = alerts("reschedule")
    assert item.appointment_id == reminder.appointment_id


@pytest.mark.parametrize(
    ("language", "speech"),
    [("en", "yes I'll be there"), ("es", "sí, ahí estaré")],
)
def test_saying_one_will_be_there_confirms_as_pressing_1_does(
    new_patient, fake_twilio, signed, language, speech
):
    patient, reminder = called(new_patient, fake_twilio, language=language)
    root = said_on_the_call(signed, patient, reminder, speech)
    assert root.find("Hangup") is not None
    assert reminder.appointment.status == "confirmed"


@pytest.mark.parametrize(
    ("language", "speech"),
    [("en", "can I talk to someone please"), ("es", "quiero hablar con alguien por favor")],
)
def test_asking_for_someone_puts_the_call_through_and_leaves_their_words(
    app, new_patient, fake_twilio, signed, language, speech
):
    patient, reminder = called(new_patient, fake_twilio, language=language)
    root = said_on_the_call(signed, patient, reminder, speech)
    assert root.find("Dial").text == "+16175550100"
    assert words(app, "prompts.voice.connecting", language) in spoken(root)
    [item] = alerts("callback")
    assert item.patient_id == patient.id
    assert db.session.get(Message, item.message_id).body == speech


@pytest.mark.parametrize(
    ("language", "speech"),
    [
        ("en", "when do I get my results"),
        ("es", "cuando me dan los resultados de la biopsia"),
    ],
)
def test_a_question_gets_the_lines_spoken_answer_then_the_keys_again(
    app, new_patient, fake_twilio, signed, language, speech
):
    patient, reminder = called(new_patient, fake_twilio, language=language)
    root = said_on_the_call(signed, patient, reminder, speech)
    gather = root.find("Gather")
    heard = spoken(gather)
    assert heard.startswith(words(app, "answers.results_when", language))
    assert heard.endswith(reminder_keypad.menu(language))
    assert reminder.appointment.status == "scheduled"


def test_a_question_for_a_person_is_answered_and_put_in_the_inbox_with_the_words(
    app, new_patient, fake_twilio, signed
):
    patient, reminder = called(new_patient, fake_twilio)
    speech = "my report says there is a lesion on my liver what does that mean"
    root = said_on_the_call(signed, patient, reminder, speech)
    assert spoken(root).startswith(words(app, "answers.say.report_interpret"))
    [item] = alerts("question")
    assert item.patient_id == patient.id
    assert db.session.get(Message, item.message_id).body == speech


def test_an_answering_machines_greeting_is_still_silence_and_leaves_nothing(
    new_patient, fake_twilio, signed
):
    patient, reminder = called(new_patient, fake_twilio)
    root = said_on_the_call(signed, patient, reminder, "purple kettle on the moon")
    assert "You have a visit on Thu Feb 12" in spoken(root)
    assert root.find("Gather").get("action").endswith("/answer?miss=1")
    assert alerts("question") == [] and alerts("callback") == []


@pytest.mark.parametrize(
    ("language", "speech"),
    [("en", "again please"), ("es", "otra vez"), ("en", "when is my appointment")],
)
def test_asking_to_hear_it_again_reads_the_reminder_again_as_9_does(
    new_patient, fake_twilio, signed, language, speech
):
    patient, reminder = called(new_patient, fake_twilio, language=language)
    root = said_on_the_call(signed, patient, reminder, speech, miss=1)
    assert root.find("Gather").get("action").endswith("/answer")  # no miss counted
    assert wording.voice_lines(reminder)[-1] in spoken(root)
    assert reminder.appointment.status == "scheduled"
