"""A caller who says what they want gets the same answer and effects as by text, spoken.

End to end through the signed voice webhook (the real database, the conversation engine's
reading of a caller's SpeechResult): one engine decides, the voice renderer speaks the
answer's ``say`` variant and offers a person; what cannot be answered goes to a person.
"""

from __future__ import annotations

import test_voice
from test_understood_answers import alerts, patient_with, words
from twiml_helpers import dial, gather, parse

from navigator.channels.outcomes import SPOKEN_KEY
from navigator.extensions import db
from navigator.models import Appointment, Message, MessageReading

call = test_voice.call  # the signed call fixture, shared


def at_the_menu(call, language_key="1"):
    call.start()
    call.press(language_key)


def offered_a_person(call, app, language="en") -> None:
    """The answer ends inside a Gather that offers 0 for a person: never a dead end."""
    assert words(app, "prompts.voice.after_answer", language) in call.heard
    assert gather(call.last) is not None


def test_a_caller_who_cant_make_their_biopsy_asks_for_a_new_time_for_the_biopsy(call, app):
    patient_with("ct", "biopsy")
    at_the_menu(call)
    call.say("I can't make my biopsy")
    db.session.expire_all()
    biopsy = db.session.scalar(db.select(Appointment).filter_by(kind="biopsy"))
    ct = db.session.scalar(db.select(Appointment).filter_by(kind="ct"))
    assert (biopsy.status, ct.status) == ("reschedule_requested", "scheduled")
    assert [a.appointment_id for a in alerts("reschedule")] == [biopsy.id]
    assert "A nurse navigator will call you to find a new time" in call.heard
    assert "Hope Clinic Navigator:" not in call.heard  # the text's form is not read aloud
    offered_a_person(call, app)


def test_a_spanish_caller_who_cant_make_their_biopsy_is_answered_in_spanish(call, app):
    patient_with("biopsy", language="es")
    at_the_menu(call, "2")
    call.say("no voy a poder ir a la biopsia")
    db.session.expire_all()
    biopsy = db.session.scalar(db.select(Appointment).filter_by(kind="biopsy"))
    assert biopsy.status == "reschedule_requested"
    assert "Una enfermera le llamará para buscar otra hora" in call.heard
    offered_a_person(call, app, "es")


def test_when_do_i_get_my_results_gets_the_spoken_answer_not_the_results_topic(call, app):
    at_the_menu(call)
    call.say("when do I get my results")
    assert call.heard.startswith(words(app, "answers.results_when"))
    offered_a_person(call, app)


def test_a_spanish_question_said_at_the_greeting_is_answered_in_spanish(call, app):
    call.start()  # no language chosen: the words say which
    call.say("cuando me dan los resultados de la biopsia")
    assert call.heard.startswith(words(app, "answers.results_when", "es"))
    offered_a_person(call, app, "es")


def test_what_is_her2_low_is_answered_from_its_topic(call, app):
    at_the_menu(call)
    call.say("what is HER2 low")
    assert app.extensions["content"].pages("topics.her2_low.voice", "en")[0] in call.heard


def test_asking_for_a_person_in_ones_own_words_connects_and_leaves_a_call_back_item(call, app):
    at_the_menu(call)
    call.say("I want to talk to a person")
    assert dial(call.last) is not None
    [item] = alerts("callback")
    assert db.session.get(Message, item.message_id).body == "I want to talk to a person"


def test_asking_for_someone_real_in_spanish_connects_too(call, app):
    at_the_menu(call, "2")
    call.say("quiero hablar con alguien de verdad por favor")
    assert dial(call.last) is not None
    assert words(app, "prompts.voice.connecting", "es") in call.heard
    assert len(alerts("callback")) == 1


def test_who_is_this_names_the_program_and_how_to_stop_calls_by_voice(call, app):
    at_the_menu(call)
    call.say("who is this")
    assert call.heard.startswith(words(app, "answers.say.who_is_this"))
    assert "Hope Clinic Navigator" in call.heard and "Reply" not in call.heard


def test_fear_gets_the_warm_spoken_answer_and_0_reaches_a_nurse(call, app):
    at_the_menu(call)
    call.say("I'm scared, am I dying")
    assert call.heard.startswith(words(app, "answers.say.prognosis_fear"))
    assert "Reply" not in call.heard and "%" not in call.heard
    assert alerts("red_flag") == []
    call.press("0")
    assert dial(call.last) is not None


def test_fear_said_in_spanish_gets_the_spanish_spoken_answer(call, app):
    at_the_menu(call, "2")
    call.say("tengo mucho miedo me voy a morir")
    assert call.heard.startswith(words(app, "answers.say.prognosis_fear", "es"))
    offered_a_person(call, app, "es")


def test_an_unsure_reading_from_a_patient_becomes_a_question_for_a_person(call, app):
    patient = patient_with()
    at_the_menu(call)
    call.say("purple kettle on the moon")
    assert call.heard.startswith(words(app, "answers.say.person_will_reply"))
    assert "nine one one" in call.heard and "08:00" in call.heard
    offered_a_person(call, app)
    [item] = alerts("question")
    assert item.patient_id == patient.id
    said = db.session.get(Message, item.message_id)
    assert (said.body, said.channel) == ("purple kettle on the moon", "voice")
    reading = db.session.scalar(db.select(MessageReading).filter_by(message_id=said.id))
    assert reading.alert_id == item.id and reading.understood is False


def test_an_unsure_reading_from_a_spanish_patient_is_answered_in_spanish(call, app):
    patient_with(language="es")
    at_the_menu(call, "2")
    call.say("la tetera morada en la luna")
    assert call.heard.startswith(words(app, "answers.say.person_will_reply", "es"))
    assert len(alerts("question")) == 1


def test_an_unsure_reading_from_an_unknown_caller_reprompts_then_reaches_a_person(call, app):
    at_the_menu(call)
    call.say("purple kettle on the moon")
    assert words(app, "prompts.voice.no_match") in call.heard
    call.say("green door by the window")
    assert dial(call.last) is not None
    assert alerts("question") == []
    # The words are kept for the coordinators' "Not understood" page, not as questions.
    kept = db.session.scalars(db.select(Message.body).filter_by(content_key=SPOKEN_KEY)).all()
    assert set(kept) == {"purple kettle on the moon", "green door by the window"}


def test_a_preparation_question_on_a_call_names_the_callers_own_test(call, app):
    patient_with("ct")
    at_the_menu(call)
    call.say("am I allowed to have coffee before the CT")
    assert call.heard.startswith("About your CT scan on ")
    assert words(app, "answers.prep_eating") in call.heard


def test_a_spoken_answer_never_tells_a_caller_to_reply_or_text(call, app):
    at_the_menu(call)
    call.say("i want to see my report what does it mean")
    heard = call.heard
    assert "Reply" not in heard and "Text " not in heard
    assert parse(call.last).find("Hangup") is None
