"""A patient calling the navigator: greeting, menus by key and by voice, a person, safety."""

from __future__ import annotations

import itertools
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from twilio_signing import TwilioSigner
from twiml_helpers import dial, gather, parse, redirect, spoken

from navigator.core import menus
from navigator.extensions import db
from navigator.models import Alert, Contact, Message, PatientEvent
from navigator.patients.enrolment import NewPatient, enroll

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
        "support": "(617) 555-0100",
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
            assert catalog.pages(f"topics.{node_id}.voice", language)[0] in heard
            assert gather(call.last) is not None, f"{node_id} ({language}) ends the call"
            call.press("8")  # repeat
            assert catalog.pages(f"topics.{node_id}.voice", language)[0] in call.heard
            call.press("*")  # back
            parent = catalog.nodes[node_id].parent
            if parent != menus.MAIN:
                assert catalog.pages(f"topics.{parent}.voice", language)[0] in call.heard


def test_a_long_topic_is_heard_a_part_at_a_time_and_1_plays_the_next_part(twilio, app):
    """Each part ends with "To hear more, press 1"; 8 repeats the part; the last part does not
    offer more, and 1 there is not a choice."""
    catalog = app.extensions["content"]
    for language, key in (("en", "1"), ("es", "2")):
        more = words(app, "prompts.voice.more", language)
        call = Call(twilio)
        call.start()
        call.press(key)
        for step in menus.path_to(catalog, "hormone_drugs"):
            call.press(str(step))
        parts = catalog.pages("topics.hormone_drugs.voice", language)
        assert len(parts) == 3
        for index, part in enumerate(parts):
            assert part in call.heard
            if index + 1 < len(parts):
                assert more in call.heard
                call.press("8")
                assert part in call.heard and parts[index + 1] not in call.heard
                call.press("1")
        assert more not in call.heard
        call.press("1")
        assert words(app, "prompts.voice.no_match", language) in call.heard


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
    assert app.extensions["content"].pages(f"topics.{node}.voice", "en")[0] in call.heard


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


SILENCE = None  # a step where the caller presses nothing
ASKING_FOR_A_PERSON = ["operator", "representative", "operadora", "a person please", "persona"]


def every_prompt(catalog):
    """Each prompt a caller can be at, with the steps that bring them there from the greeting.

    The first step picks the language; the visit step of an enrolled caller is the
    date-of-birth or PIN prompt; a topic after "text me this" is the send-by-text offer's
    answer; a reprompt after silence and after a wrong key are prompts too.
    """
    yield "the greeting", []
    for node_id in menus.walk(catalog):
        yield node_id, [str(step) for step in menus.path_to(catalog, node_id)]
    leaf = next(
        n
        for n in menus.walk(catalog)
        if not catalog.nodes[n].children and not catalog.nodes[n].action
    )
    yield f"{leaf} after it was texted", [*map(str, menus.path_to(catalog, leaf)), "7"]
    yield "the reprompt after silence", [SILENCE]
    yield "the main menu after a wrong key", ["9"]


def test_zero_connects_to_the_care_team_from_any_prompt(twilio, app):
    """0, or words asking for a person, at every prompt of the call, in both languages."""
    enroll(NewPatient("Ana Demo", CALLER, pin="4321"))  # so the visit step asks for the PIN
    db.session.commit()
    catalog = app.extensions["content"]
    asking = itertools.cycle(ASKING_FOR_A_PERSON)
    for language, key in (("en", "1"), ("es", "2")):
        for prompt, steps in every_prompt(catalog):
            for answer in ("0", next(asking)):
                call = Call(twilio)
                call.start()
                for step in [] if prompt == "the greeting" else [key, *steps]:
                    call.silence() if step is SILENCE else call.press(step)
                assert gather(call.last) is not None, prompt
                call.press(answer) if answer == "0" else call.say(answer)
                where = f"{answer!r} at {prompt} ({language})"
                assert dial(call.last) is not None, where
                assert dial(call.last).text.strip() == "+16175550100", where
                # At the greeting the caller has not chosen yet: the last call's language.
                spoken_in = ("en", "es") if prompt == "the greeting" else (language,)
                assert any(
                    words(app, "prompts.voice.connecting", each) in call.heard for each in spoken_in
                ), where


def test_the_identity_check_offers_0_and_0_is_not_a_failed_check(call, app):
    enroll(NewPatient("Ana Demo", CALLER, pin="4321"))
    db.session.commit()
    call.start()
    call.press("1")
    call.press("1")
    assert "press 0" in call.heard
    call.post(gather(call.last).get("action"), Digits="0#")
    assert dial(call.last) is not None
    db.session.expire_all()
    assert db.session.scalar(db.select(Contact.failed_checks).filter_by(phone=CALLER)) == 0


def test_a_911_sign_said_at_the_greeting_is_told_to_hang_up_and_call_911_and_the_call_ends(
    call, app
):
    """Never "please hold, connecting you" after "hang up and call 911"."""
    call.start()
    call.say("I can't breathe and my chest hurts")
    assert call.heard == words(app, "redflags.breathing_chest.say")
    assert call.heard.startswith("Hang up and call nine one one now.")
    assert dial(call.last) is None and parse(call.last).find("Hangup") is not None
    assert words(app, "prompts.voice.connecting") not in call.heard
    assert (
        db.session.scalar(db.select(Alert.detail).filter_by(kind="red_flag")) == "breathing_chest"
    )


def test_a_sign_for_the_care_team_now_is_told_to_stay_on_the_line_and_put_through(call, app):
    call.start()
    call.say("I have a fever of 101 and chills")
    assert call.heard.startswith(words(app, "redflags.fever.say"))
    assert "Stay on the line" in call.heard
    assert words(app, "prompts.voice.connecting") in call.heard
    assert dial(call.last).text.strip() == "+16175550100"
    assert db.session.scalar(db.select(Alert.detail).filter_by(kind="red_flag")) == "fever"


def test_a_spanish_sign_said_on_an_english_call_is_answered_in_spanish(call, app):
    call.start()
    call.say("tengo la pierna hinchada y roja")
    assert call.heard.startswith(words(app, "redflags.blood_clot.say", "es"))
    assert dial(call.last) is not None
    assert db.session.scalar(db.select(Alert.detail).filter_by(kind="red_flag")) == "blood_clot"


def test_a_warning_sign_from_a_hidden_number_still_reaches_the_inbox(twilio, app):
    call = Call(twilio, caller="anonymous")
    call.start()
    call.press("1")
    call.say("I can't breathe and my chest hurts")
    assert parse(call.last).find("Hangup") is not None
    alert = db.session.scalar(db.select(Alert).filter_by(kind="red_flag"))
    assert (alert.detail, alert.phone, alert.patient_id) == ("breathing_chest", "", None)


def test_spanish_said_at_the_greeting_is_remembered(call, twilio, app):
    call.start()
    call.say("Español.")
    assert words(app, "prompts.voice.reserved_main", "es") in call.heard
    again = Call(twilio)
    again.start()
    assert again.heard.startswith(words(app, "prompts.voice.greeting", "es"))


def test_pressing_0_puts_a_call_back_request_in_the_inbox_even_when_the_line_answers(call, app):
    """Coordinators see that a caller asked for a person, as they do when 0 is texted."""
    call.start()
    call.press("1")
    call.press("0")
    call.post(dial(call.last).get("action"), DialCallStatus="completed")
    assert parse(call.last).find("Hangup") is not None
    [callback] = db.session.scalars(db.select(Alert).filter_by(kind="callback")).all()
    assert callback.phone == CALLER


def test_an_unanswered_transfer_leaves_a_call_back_request_if_the_caller_hangs_up(call, app):
    call.start()
    call.press("1")
    call.silence()
    call.silence()  # two misses: put through to the care team, who do not answer
    call.post(dial(call.last).get("action"), DialCallStatus="no-answer")
    assert parse(call.last).find("Record") is not None  # ...and the caller hangs up here
    [callback] = db.session.scalars(db.select(Alert).filter_by(kind="callback")).all()
    assert callback.phone == CALLER


UNREACHABLE_DATABASE = "postgresql+psycopg://nobody@127.0.0.1:1/down"


@pytest.mark.parametrize("care_team", ["", "+16175550100"])
def test_with_the_database_down_a_call_apologises_in_both_languages_and_ends(
    app_with, app, care_team
):
    """Never a redirect back into a step that needs the database: the call ends."""
    down = app_with(SQLALCHEMY_DATABASE_URI=UNREACHABLE_DATABASE, CARE_TEAM_PHONE=care_team)
    call = Call(TwilioSigner(down.test_client()))
    call.start()
    line = "(617) 555-0100" if care_team else "(312) 555-0199"  # fictional, never ours
    english = words(app, "prompts.voice.apology", "en", care_team=line)
    spanish = words(app, "prompts.voice.apology", "es", care_team=line)
    for _step in range(4):
        response = parse(call.last)
        assert response.find("Redirect") is None
        heard = call.heard
        assert heard.index(english) < heard.index(spanish)
        assert "nine one one" in english and "nueve uno uno" in spanish
        if response.find("Dial") is not None:
            assert response.find("Dial").text.strip() == care_team
            call.post(response.find("Dial").get("action"), DialCallStatus="no-answer")
        elif response.find("Record") is not None:
            recording = {"RecordingUrl": "https://api.twilio.com/rec/RE1", "RecordingDuration": "9"}
            call.post(response.find("Record").get("action"), **recording)
        else:
            assert response[-1].tag == "Hangup"
            break
    else:
        pytest.fail("the call never ended")


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


def test_a_warning_sign_said_aloud_at_a_menu_gets_the_spoken_advice_and_an_alert(call, app):
    call.start()
    call.press("1")
    call.say("I can't breathe and my chest hurts")
    assert words(app, "redflags.breathing_chest.say") in call.heard
    assert dial(call.last) is None and parse(call.last).find("Hangup") is not None
    assert (
        db.session.scalar(db.select(Alert.detail).filter_by(kind="red_flag")) == "breathing_chest"
    )


def _opt_out_events():
    return db.session.execute(
        db.select(PatientEvent.kind, PatientEvent.phone, PatientEvent.channel)
    ).all()


def _opted_out(phone=CALLER) -> bool:
    db.session.expire_all()
    return db.session.scalar(db.select(Contact).filter_by(phone=phone)).opted_out


@pytest.mark.parametrize(
    ("speech", "language"),
    [
        ("Stop calling me.", "en"),
        ("Don't call me anymore.", "en"),
        ("Please stop calling.", "en"),
        ("No more calls.", "en"),
        ("Unsubscribe.", "en"),
        ("No me llame más.", "es"),
        ("No me llamen.", "es"),
        ("Deje de llamarme, por favor.", "es"),
        ("Ya no me llamen.", "es"),
    ],
)
def test_a_caller_who_says_stop_calling_is_opted_out_told_so_and_the_call_ends(
    call, app, speech, language
):
    call.start()
    call.say(speech)
    assert call.heard == " ".join(
        [words(app, "prompts.voice.stop", language), words(app, "prompts.voice.goodbye", language)]
    )
    assert parse(call.last).find("Hangup") is not None and gather(call.last) is None
    assert _opted_out()
    assert _opt_out_events() == [("opted_out", CALLER, "voice")]


def test_a_spoken_opt_out_deep_in_the_menu_is_on_the_patients_timeline(call, app):
    patient = enroll(NewPatient("Ana Demo", CALLER, language="es"))
    db.session.commit()
    call.start()
    call.press("2")
    call.press("2")  # pruebas
    call.say("Deje de llamarme.")
    assert call.heard.startswith(words(app, "prompts.voice.stop", "es"))
    event = db.session.scalar(db.select(PatientEvent))
    assert (event.kind, event.patient_id, event.channel) == ("opted_out", patient.id, "voice")


def test_warning_signs_come_before_a_request_to_stop_calling(call, app):
    call.start()
    call.press("1")
    call.say("I can't breathe, stop calling")
    assert call.heard.startswith(words(app, "redflags.breathing_chest.say"))
    assert (
        db.session.scalar(db.select(Alert.detail).filter_by(kind="red_flag")) == "breathing_chest"
    )
    assert _opted_out()  # as for a text: the request to stop is still honoured


def test_a_question_that_says_stop_is_not_an_opt_out(call, app):
    call.start()
    call.press("1")
    call.say("When do the scans stop?")
    assert gather(call.last) is not None
    assert not _opted_out()
    assert _opt_out_events() == []


def test_keys_never_opt_a_caller_out(call, app):
    call.start()
    call.press("1")
    call.press("8")
    call.press("*")
    assert gather(call.last) is not None
    assert not _opted_out()


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


def asking_for_the_visit(twilio, language_key="1"):
    """A new call that asks for the caller's visit: it stops at the identity check."""
    call = Call(twilio)
    call.start()
    call.press(language_key)
    call.press("1")
    return call


def wrong_tries(twilio, count, language_key="1"):
    """``count`` wrong PINs, each on a call of its own, as someone guessing would call."""
    for _ in range(count):
        call = asking_for_the_visit(twilio, language_key)
        call.press("1111")
    return call


def identity_alerts():
    db.session.expire_all()
    return db.session.scalars(db.select(Alert).filter_by(kind="identity_locked")).all()


def test_five_wrong_tries_in_a_row_lock_the_phone_check_and_tell_the_coordinators_once(twilio, app):
    patient = enroll(NewPatient("Ana Demo", CALLER, pin="4321"))
    db.session.commit()
    wrong_tries(twilio, 4)
    assert identity_alerts() == []
    call = wrong_tries(twilio, 1)
    assert words(app, "prompts.voice.verify_failed") in call.heard
    assert words(app, "prompts.voice.check_locked") in call.heard
    assert gather(call.last).get("action").startswith("/twilio/voice/choose?node=main")
    [alert] = identity_alerts()
    assert alert.patient_id == patient.id and alert.phone == CALLER
    assert "1111" not in alert.detail and "4321" not in alert.detail
    # Later calls are told at once, are offered a person, and raise no second alert.
    call = asking_for_the_visit(twilio)
    assert words(app, "prompts.voice.check_locked") in call.heard
    assert words(app, "prompts.voice.verify") not in call.heard
    call.press("0")
    assert dial(call.last) is not None
    assert len(identity_alerts()) == 1


def test_the_right_pin_is_refused_while_the_phone_check_is_locked(twilio, app):
    enroll(NewPatient("Ana Demo", CALLER, pin="4321"))
    db.session.commit()
    waiting = asking_for_the_visit(twilio)  # at the PIN prompt when the lock happens
    wrong_tries(twilio, 5)
    waiting.press("4321")
    assert words(app, "prompts.voice.check_locked") in waiting.heard
    assert words(app, "prompts.voice.next_none") not in waiting.heard
    db.session.expire_all()
    contact = db.session.scalar(db.select(Contact).filter_by(phone=CALLER))
    assert contact.failed_checks == 5 and contact.verified_call_sid is None
    assert len(identity_alerts()) == 1


def test_the_tries_must_be_wrong_in_a_row_to_lock(twilio, app):
    enroll(NewPatient("Ana Demo", CALLER, pin="4321"))
    db.session.commit()
    wrong_tries(twilio, 4)
    asking_for_the_visit(twilio).press("4321")
    call = wrong_tries(twilio, 4)
    assert words(app, "prompts.voice.check_locked") not in call.heard
    assert identity_alerts() == []


def test_a_spanish_caller_hears_that_the_phone_check_is_locked_in_spanish(twilio, app):
    enroll(NewPatient("Ana Demo", CALLER, language="es", pin="4321"))
    db.session.commit()
    call = wrong_tries(twilio, 5, language_key="2")
    assert words(app, "prompts.voice.check_locked", "es") in call.heard
    call = asking_for_the_visit(twilio, language_key="2")
    assert words(app, "prompts.voice.check_locked", "es") in call.heard


def test_the_digits_keyed_in_are_never_logged(twilio, app, written_logs):
    enroll(NewPatient("Ana Demo", CALLER, pin="4321"))
    db.session.commit()
    wrong_tries(twilio, 6)
    logged = written_logs.getvalue()
    assert "locked" in logged and "1111" not in logged


def test_a_failure_inside_a_call_apologises_and_connects_to_a_person(call, app, monkeypatch):
    from navigator.core import engine as conversation

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
