"""A patient calling the navigator: greeting, menus by key and by voice, a person, safety."""

from __future__ import annotations

import itertools
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from twiml_helpers import dial, gather, parse, redirect, spoken

from navigator import menus
from navigator.extensions import db
from navigator.models import Alert, Contact, Message
from navigator.patients import NewPatient, enroll

CALLER = "+16175550143"
_calls = itertools.count(1)


class Call:
    """One phone call, stepping through the TwiML the way Twilio does."""

    def __init__(self, twilio, caller=CALLER):
        self.twilio = twilio
        self.caller = caller
        self.sid = f"CA{next(_calls):032d}"
        self.last = None

    def post(self, url: str, **params):
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        data = {
            "CallSid": self.sid,
            "AccountSid": "AC" + "0" * 32,
            "From": self.caller,
            "To": "+12025550100",
            "CallStatus": "in-progress",
            **params,
        }
        response = self.twilio.post(parts.path, data, query=query or None)
        assert response.status_code == 200
        assert response.mimetype == "text/xml"
        parse(response.data)  # valid TwiML
        self.last = response.data
        return response.data

    def start(self):
        return self.post("/twilio/voice")

    def press(self, digits: str):
        return self.post(gather(self.last).get("action"), Digits=digits)

    def say(self, speech: str):
        return self.post(gather(self.last).get("action"), SpeechResult=speech, Confidence="0.9")

    def silence(self):
        """No input: Twilio follows the <Redirect> after the <Gather>."""
        return self.post(redirect(self.last))

    @property
    def heard(self) -> str:
        return spoken(self.last)


@pytest.fixture
def call(twilio):
    return Call(twilio)


def words(app, key, language="en", **values):
    base = {
        "program": "Hope Clinic Navigator",
        "care_team": "(617) 555-0100",
        "contact": "(617) 555-0100",
    }
    return app.extensions["content"].render(key, language, **{**base, **values})


def test_the_greeting_says_911_first_and_offers_spanish_in_spanish(call, app):
    call.start()
    heard = call.heard
    assert heard.startswith(words(app, "prompts.voice.greeting"))
    assert words(app, "prompts.voice.language_offer", "es") in heard
    element = gather(call.last)
    assert element.get("input") == "dtmf speech"
    assert int(element.get("timeout")) >= 10


def test_prompts_use_a_voice_in_the_callers_language_at_an_unhurried_rate(call):
    call.start()
    says = list(parse(call.last).iter("Say"))
    languages = {s.get("language") for s in says}
    assert languages == {"en-US", "es-US"}
    assert all(s.find("prosody").get("rate") == "90%" for s in says)


def test_pressing_2_at_the_greeting_gives_spanish_and_it_is_remembered(call, twilio, app):
    call.start()
    call.press("2")
    assert words(app, "prompts.voice.reserved_main", "es") in call.heard
    again = Call(twilio)
    again.start()
    assert again.heard.startswith(words(app, "prompts.voice.greeting", "es"))


def test_silence_at_the_greeting_goes_on_in_english(call, app):
    call.start()
    call.silence()
    assert words(app, "prompts.voice.reserved_main") in call.heard


def test_each_menu_offers_at_most_four_topics_plus_repeat_back_and_a_person(call, app):
    catalog = app.extensions["content"]
    for node_id in menus.walk(catalog):
        assert len(catalog.nodes[node_id].children) <= 4
    call.start()
    call.press("1")
    assert "press 8" in call.heard and "press 0" in call.heard


def test_the_whole_voice_tree_is_reachable_and_has_no_dead_end(twilio, app):
    """Walk every option of every menu in both languages, as a caller would."""
    catalog = app.extensions["content"]
    for language, key in (("en", "1"), ("es", "2")):
        for node_id in menus.walk(catalog):
            if node_id == menus.MAIN:
                continue
            call = Call(twilio)
            call.start()
            call.press(key)
            for step in menus.path_to(catalog, node_id):
                call.press(str(step))
            heard = call.heard
            assert heard, node_id
            if catalog.nodes[node_id].action:
                continue  # the visit step is tested below
            assert catalog.render(f"topics.{node_id}.voice", language) in heard
            assert gather(call.last) is not None, f"{node_id} ({language}) ends the call"
            call.press("8")  # repeat
            assert catalog.render(f"topics.{node_id}.voice", language) in call.heard
            call.press("*")  # back
            parent = catalog.nodes[node_id].parent
            if parent != menus.MAIN:
                assert catalog.render(f"topics.{parent}.voice", language) in call.heard


@pytest.mark.parametrize(
    "speech,node",
    [
        ("imaging", "imaging"),
        ("biopsia", "biopsy"),
        ("tell me about the biopsy", "biopsy"),
        ("radiation", "radiation"),
    ],
)
def test_callers_can_say_a_topic_instead_of_pressing_keys(call, app, speech, node):
    call.start()
    call.press("1")
    call.say(speech)
    assert app.extensions["content"].render(f"topics.{node}.voice", "en") in call.heard


def test_silence_reprompts_once_then_connects_to_a_person(call, app):
    call.start()
    call.press("1")
    call.silence()
    assert words(app, "prompts.voice.no_input") in call.heard
    assert gather(call.last) is not None
    call.silence()
    assert dial(call.last).text.strip() == "+16175550100"


def test_two_wrong_keys_connect_to_a_person_instead_of_hanging_up(call, app):
    call.start()
    call.press("1")
    call.press("6")
    assert words(app, "prompts.voice.no_match") in call.heard
    call.press("6")
    assert dial(call.last) is not None


def test_zero_connects_to_the_care_team_from_any_prompt(call, app):
    call.start()
    call.press("1")
    call.press("2")
    call.press("1")
    call.press("0")
    assert words(app, "prompts.voice.connecting") in call.heard
    assert dial(call.last).text.strip() == "+16175550100"


def test_without_a_care_team_line_zero_takes_a_message_that_becomes_an_alert(call, app):
    app.config["CARE_TEAM_PHONE"] = ""
    call.start()
    call.press("1")
    call.press("0")
    record = parse(call.last).find("Record")
    assert record is not None
    call.post(
        record.get("action"), RecordingUrl="https://api.twilio.com/rec/RE1", RecordingDuration="12"
    )
    alert = db.session.scalar(db.select(Alert).filter_by(kind="voicemail"))
    assert alert.recording_url == "https://api.twilio.com/rec/RE1"
    assert alert.phone == CALLER


def test_an_unanswered_transfer_takes_a_message(call, app):
    call.start()
    call.press("1")
    call.press("0")
    call.post(dial(call.last).get("action"), DialCallStatus="no-answer")
    assert parse(call.last).find("Record") is not None


def test_a_warning_sign_said_aloud_gets_the_advice_then_a_person_and_an_alert(call, app):
    call.start()
    call.press("1")
    call.say("I can't breathe and my chest hurts")
    assert words(app, "redflags.breathing_chest.text").split(".")[0] in call.heard
    assert dial(call.last) is not None
    assert (
        db.session.scalar(db.select(Alert.detail).filter_by(kind="red_flag")) == "breathing_chest"
    )


def test_a_caller_can_get_what_they_heard_by_text(call, app):
    call.start()
    call.press("1")
    call.press("2")  # tests
    call.press("2")  # biopsy
    call.press("7")
    assert words(app, "prompts.voice.texted") in call.heard
    sent = db.session.scalars(db.select(Message).filter_by(direction="out", phone=CALLER)).all()
    pages = app.extensions["content"].pages("topics.biopsy.text", "en")
    assert len(sent) == len(pages)
    assert pages[0] in sent[0].body


def test_an_unknown_caller_asking_for_their_visit_gets_general_help_only(call, app):
    call.start()
    call.press("1")
    call.press("1")
    assert words(app, "prompts.voice.next_unknown") in call.heard


def test_a_known_caller_must_key_in_their_birth_date_before_hearing_details(call, app):
    enroll(NewPatient("Ana Demo", CALLER, date_of_birth=date(1961, 4, 30)))
    db.session.commit()
    call.start()
    call.press("1")
    call.press("1")
    assert words(app, "prompts.voice.verify") in call.heard
    call.press("01011900")
    assert words(app, "prompts.voice.verify_failed") in call.heard
    call.press("1")
    call.press("04301961")
    assert words(app, "prompts.voice.next_none") in call.heard


def test_a_wrong_check_twice_goes_to_a_person(call, app):
    enroll(NewPatient("Ana Demo", CALLER, pin="4321"))
    db.session.commit()
    call.start()
    call.press("1")
    for _ in range(2):
        call.press("1")
        call.press("9999")
    assert dial(call.last) is not None


def test_a_pin_also_passes_the_check(call, app):
    enroll(NewPatient("Ana Demo", CALLER, pin="4321"))
    db.session.commit()
    call.start()
    call.press("1")
    call.press("1")
    call.press("4321")
    assert words(app, "prompts.voice.next_none") in call.heard


def test_a_failure_inside_a_call_apologises_and_connects_to_a_person(call, app, monkeypatch):
    from navigator import conversation

    def broken(*args, **kwargs):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(conversation.Engine, "keypad", broken)
    call.start()
    call.press("1")
    call.press("2")
    assert words(app, "prompts.voice.apology") in call.heard
    assert dial(call.last) is not None


def test_a_call_with_a_forged_signature_is_refused(client):
    response = client.post(
        "/twilio/voice",
        data={"From": CALLER, "CallSid": "CA1"},
        headers={"X-Twilio-Signature": "nope"},
    )
    assert response.status_code == 403


def test_a_call_from_a_hidden_number_still_gets_the_menu(twilio, app):
    call = Call(twilio, caller="anonymous")
    call.start()
    call.press("1")
    assert words(app, "prompts.voice.reserved_main") in call.heard
    assert db.session.scalar(db.select(Contact)) is None
