"""Warning signs: every way a patient may write one gets the safety reply, in their words' language.

Each row is a message a patient or caregiver might send, with typos as people type them,
and the warning sign (messages/redflags.yaml) it must be answered with. The texting
tests in test_sms.py show the same replies arriving with an alert for the coordinators.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from navigator.core.content import load
from navigator.core.engine import Engine, Facts, Say
from navigator.core.menus import Position

ENGINE = Engine(load(Path(__file__).resolve().parent.parent / "messages"))
NEW_NUMBER = Facts()  # English by default, no language chosen


def answer(message: str, facts: Facts = NEW_NUMBER):
    """What the navigator answers a text from a number that has not chosen a language."""
    return ENGINE.text(Position(), message, facts)


def warning_sign(message: str, facts: Facts = NEW_NUMBER) -> tuple[str, str] | None:
    """The warning sign the reply leads with, and the reply's language; None for no alert."""
    out = answer(message, facts)
    flag = out.effect("red_flag")
    if flag is None:
        return None
    assert out.replies[0] == Say(f"redflags.{flag.detail}.text")
    return flag.detail, out.language


CRISIS = [
    ("me quiero matar", "es"),
    ("me kiero matar", "es"),
    ("ya no aguanto más, me quiero matar", "es"),
    ("no quiero seguir viviendo", "es"),
    ("ya no quiero seguir viviendo", "es"),
    ("sobredosis", "es"),
    ("creo que tomé una sobredosis", "es"),
    ("me tomé todas las pastillas", "es"),
    ("tome muchas pastillas", "es"),
    ("me quiero suicidar", "es"),
    ("pienso en suicidarme", "es"),
    ("quiero acabar con todo", "es"),
    ("estoy cansada de vivir", "es"),
    ("kill my self", "en"),
    ("i want to kill my self", "en"),
    ("im going to kill myslef", "en"),
    ("killmyself", "en"),
    ("took too many pills", "en"),
    ("i took to many pills", "en"),
    ("I took all my pills", "en"),
    ("I want to end it", "en"),
    ("i just want to end it all", "en"),
    ("i feel like ending it", "en"),
    ("I'm done with life", "en"),
    ("im tired of living", "en"),
    ("i wnat to die", "en"),
    ("I overdosed", "en"),
]

FEVER = [
    ("my temperature is 101", "en"),
    ("temp is 101", "en"),
    ("temp 38.5", "en"),
    ("Temp: 38.9", "en"),
    ("my temprature is 102", "en"),
    ("my temp was 100.4", "en"),
    ("temperature 102F", "en"),
    ("101.5 degrees", "en"),
    ("its 100.8 on the thermometer", "en"),
    ("I have a fever of 101", "en"),
    ("temperatura de 39", "es"),
    ("temperatura 38,5", "es"),
    ("tengo 38.5 de temperatura", "es"),
    ("me tomé la temperatura y tengo 39", "es"),
    ("39 grados", "es"),
    ("fiebre de 38", "es"),
    ("tengo fievre", "es"),
    ("tengo calentura", "es"),
]

BREATHING_CHEST = [
    ("chest tightness", "en"),
    ("tightness in my chest", "en"),
    ("my chest feels tight", "en"),
    ("chest tightnes", "en"),
    ("I cant breathe", "en"),
    ("me falta la respiracion", "es"),
    ("me aprieta el pecho", "es"),
    ("siento opresion en el pecho", "es"),
    ("casi no puedo respirar", "es"),
    ("infarto", "es"),
]

BLEEDING = [
    ("bleeding a lot", "en"),
    ("i am bleeding a lot", "en"),
    ("the biopsy spot is bleeding alot", "en"),
    ("bleeding too much", "en"),
    ("im losing a lot of blood", "en"),
    ("sangrado abundante", "es"),
    ("sangro mucho", "es"),
    ("me sale mucha sangre de la herida", "es"),
    ("no para de sangrar", "es"),
]

SPINAL_CORD = [
    ("back hurts legs weak", "en"),
    ("back hurts, legs weak", "en"),
    ("my back hurts and my legs feel weak", "en"),
    ("back pain and weak legs", "en"),
    ("backache and my legs are numb", "en"),
    ("back pian and numbess in legs", "en"),
    ("numb legs", "en"),
    ("me duele la espalda y tengo las piernas dormidas", "es"),
    ("tengo mucho dolor de espalda y las piernas dormidas", "es"),
    ("me duele la espalda y se me duermen las piernas", "es"),
    ("dolor de espalda y piernas debiles", "es"),
    ("me duele la espalda y no puedo orinar", "es"),
]

SEIZURE_CONFUSION_EMERGENCY = [
    ("convulsiones", "stroke_seizure", "es"),
    ("tengo convulciones", "stroke_seizure", "es"),
    ("mi mamá tiene convulsiones", "stroke_seizure", "es"),
    ("she is having a seizure", "stroke_seizure", "en"),
    ("mi mamá está confundida", "confusion", "es"),
    ("mi papa esta muy confundido", "confusion", "es"),
    ("es una emergencia", "emergency_question", "es"),
    ("¿es una emergencia?", "emergency_question", "es"),
    ("es una emergensia", "emergency_question", "es"),
    ("ambulancia", "emergency_question", "es"),
    ("necesito una ambulansia", "emergency_question", "es"),
    ("llamo al 911", "emergency_question", "es"),
    ("is this an emergency", "emergency_question", "en"),
    ("me caí y no puedo pararme", "fracture", "es"),
]

NOT_WARNING_SIGNS = [
    "what is a PET scan",
    "¿para qué es la biopsia?",
    "temperature 98.6",
    "my temp was 97.9 this morning",
    "temperatura de 36.5",
    "tengo temperatura de 37",
    "I'm 39 years old",
    "tengo 39 años",
    "my appointment is at 10:30 on 3/4",
    "what is HER2",
    "que es HER2",
    "whats her 2",
    "biopsey??",
    "what does HER2-low mean",
    "que es una tomografia",
    "¿qué es la resonancia?",
    "what is a bone scan",
    "how long does a PET scan take",
    "does the biopsy hurt",
    "i had a good week",
    "my legs are fine",
    "1",
    "2",
    "0",
    "MENU",
    "STOP",
    "stop sign",
    "when do the scans stop",
    "gracias por la información",
]


@pytest.mark.parametrize(("message", "language"), CRISIS)
def test_thoughts_of_suicide_or_an_overdose_get_the_988_reply(message, language):
    assert warning_sign(message) == ("crisis", language)


@pytest.mark.parametrize(("message", "language"), FEVER)
def test_a_temperature_of_100_4_f_or_38_c_or_more_gets_the_fever_reply(message, language):
    assert warning_sign(message) == ("fever", language)


@pytest.mark.parametrize(
    "message", ["temp 100.3", "my temperature is 99", "temp 37.9", "temperatura de 37,5"]
)
def test_a_temperature_below_100_4_f_or_38_c_is_not_a_fever(message):
    assert warning_sign(message) is None


def test_a_patient_who_calls_it_a_fever_gets_the_fever_reply_whatever_the_number():
    """The threshold judges a measured temperature, never the patient's own word."""
    assert warning_sign("fever 99") == ("fever", "en")
    assert warning_sign("chills and temp 99") == ("fever", "en")


@pytest.mark.parametrize(("message", "language"), BREATHING_CHEST)
def test_chest_tightness_and_trouble_breathing_get_the_911_reply(message, language):
    assert warning_sign(message) == ("breathing_chest", language)


@pytest.mark.parametrize(("message", "language"), BLEEDING)
def test_heavy_bleeding_gets_the_press_and_call_911_reply(message, language):
    assert warning_sign(message) == ("bleeding", language)


@pytest.mark.parametrize(("message", "language"), SPINAL_CORD)
def test_back_pain_with_weak_or_numb_legs_gets_the_spinal_cord_reply(message, language):
    assert warning_sign(message) == ("spinal_cord", language)


@pytest.mark.parametrize(
    ("message", "language"),
    [("my back hurts", "en"), ("me duele mucho la espalda", "es"), ("dolor de espalda", "es")],
)
def test_back_pain_alone_gets_the_call_today_reply(message, language):
    assert warning_sign(message) == ("back_pain", language)


@pytest.mark.parametrize(("message", "rule", "language"), SEIZURE_CONFUSION_EMERGENCY)
def test_spanish_warning_signs_are_answered_in_spanish(message, rule, language):
    assert warning_sign(message) == (rule, language)


@pytest.mark.parametrize("message", NOT_WARNING_SIGNS)
def test_ordinary_questions_menu_choices_and_normal_temperatures_raise_no_alert(message):
    assert warning_sign(message) is None


#: The rules never read these as signs, but the model, which must catch at least 98 in
#: 100 signs written in people's own words, still leans to safety on them (the corpus has
#: too few such near misses): ``flask understanding evaluate`` reports the false-alarm rate.
MODEL_LEANS_TO_SAFETY = [
    "my back is fine",
    "my back feels better this week",
    "will they take a lot of blood",
    "me van a sacar mucha sangre?",
]


@pytest.mark.parametrize("message", MODEL_LEANS_TO_SAFETY)
def test_the_warning_sign_rules_alone_read_no_sign_in_everyday_words(message):
    assert ENGINE.screen.check(message) is None


def test_a_chosen_language_wins_over_the_words_used():
    chose_english = Facts(language="en", language_chosen=True)
    chose_spanish = Facts(language="es", language_chosen=True)
    assert warning_sign("me quiero suicidar", chose_english) == ("crisis", "en")
    assert warning_sign("I want to end it", chose_spanish) == ("crisis", "es")


def test_words_both_languages_share_keep_the_numbers_language():
    assert warning_sign("911", Facts(language="es")) == ("emergency_question", "es")
    assert warning_sign("911") == ("emergency_question", "en")


@pytest.mark.parametrize(
    ("message", "rule", "language"),
    [
        ("stop texting me I can't breathe", "breathing_chest", "en"),
        ("no me escriban, no puedo respirar", "breathing_chest", "es"),
        ("I want to die, please stop texting me", "crisis", "en"),
    ],
)
def test_a_warning_sign_inside_a_request_to_stop_is_answered_first(message, rule, language):
    out = answer(message)
    assert warning_sign(message) == (rule, language)
    assert out.replies[-1] == Say("prompts.sms.stop")  # and the opt-out is still honoured
    assert out.effect("opt_out")
