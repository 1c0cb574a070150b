"""A patient texting the navigator: menus, keywords, opt-out, glossary and safety."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
import sqlalchemy as sa
from readability import is_gsm7
from twiml_helpers import texts_of

from navigator.channels import turns
from navigator.core import menus
from navigator.extensions import db
from navigator.models import Alert, Contact, Message, utcnow
from navigator.patients.enrolment import NewPatient, enroll

PHONE = "+16175550143"
_sids = itertools.count(1)


@pytest.fixture
def text(twilio):
    """Send one text as PHONE (or another number); return the reply texts."""

    def send(body: str, phone: str = PHONE, sid: str | None = None):
        response = twilio.post(
            "/twilio/sms",
            {
                "MessageSid": sid or f"SM{next(_sids):032d}",
                "AccountSid": "AC" + "0" * 32,
                "From": phone,
                "To": "+12025550100",
                "Body": body,
                "NumMedia": "0",
            },
        )
        assert response.status_code == 200
        assert response.mimetype == "text/xml"
        return texts_of(response.data)

    return send


def contact(phone: str = PHONE) -> Contact:
    db.session.expire_all()
    return db.session.scalar(db.select(Contact).filter_by(phone=phone))


def alerts(kind: str) -> list[Alert]:
    return list(db.session.scalars(db.select(Alert).filter_by(kind=kind)))


def words(app, key, language="en", **values):
    base = {
        "program": "Hope Clinic Navigator",
        "care_team": "(617) 555-0100",
        "support": "(617) 555-0100",
    }
    return app.extensions["content"].render(key, language, **{**base, **values})


# -- menus ---------------------------------------------------------------------------


def test_a_first_text_gets_a_kind_reply_with_the_menu_and_a_way_to_a_person(text, app):
    replies = text("purple kettle on the moon")
    joined = "\n".join(replies)
    assert words(app, "prompts.sms.not_understood") in joined
    assert "1 " + words(app, "topics.next.label") in joined
    assert all(len(reply) <= 320 for reply in replies)


@pytest.mark.parametrize(
    ("greeting", "language"),
    [("Hi", "en"), ("hello", "en"), ("Hola", "es"), ("buenos dias!", "es")],
)
def test_a_greeting_gets_the_menu_without_an_apology(text, app, greeting, language):
    joined = "\n".join(text(greeting))
    assert words(app, "prompts.sms.not_understood", language) not in joined
    assert "1 " + words(app, "topics.next.label", language) in joined


@pytest.mark.parametrize(
    ("thanks", "language"), [("Thank you!", "en"), ("thx", "en"), ("Muchas gracias", "es")]
)
def test_a_thank_you_gets_a_short_welcome_and_keeps_the_place(text, app, thanks, language):
    if language == "es":
        text("ESPANOL")
    text("2")
    assert text(thanks) == [words(app, "prompts.sms.thanks", language)]
    assert contact().menu_node == "tests"


def test_numbers_walk_down_the_menu_and_back_goes_up(text):
    text("MENU")
    text("2")
    assert contact().menu_node == "tests"
    text("1")
    assert contact().menu_node == "imaging"
    text("back")
    assert contact().menu_node == "tests"
    text("Menu")
    assert contact().menu_node == "main"


def test_more_reads_a_long_topic_page_by_page_then_offers_a_way_on(text, app):
    pages = app.extensions["content"].pages("topics.recurrence.text", "en")
    assert len(pages) > 1
    text("MENU")
    text("3")
    first = text("1")
    assert pages[0] in first[0]
    assert words(app, "prompts.sms.more") in first[0]
    for page in pages[1:]:
        assert page in text("MORE")[0]
    end = text("more")
    assert words(app, "prompts.sms.end_of_topic") in end[0]
    assert contact().menu_node == "about"


@pytest.mark.parametrize("more", ["MORE", "mas"])
def test_more_on_a_menu_shows_that_menu_again_and_stays_there(text, app, more):
    """A menu has no rest to read: no "That is all on this topic", no move up."""
    text("MENU")
    menu = text("2")  # the tests menu
    assert text(more) == menu
    assert contact().menu_node == "tests"
    main = text("MENU")
    assert text(more) == main
    assert contact().menu_node == "main"


def test_every_menu_option_is_reachable_by_text_and_no_page_is_a_dead_end(text, app):
    catalog = app.extensions["content"]
    for language in ("en", "es"):
        text("ESPANOL" if language == "es" else "ENGLISH")
        for node_id in menus.walk(catalog):
            node = catalog.nodes[node_id]
            for digit, child in enumerate(node.children, 1):
                path = menus.path_to(catalog, node_id)
                text("MENU")
                for step in path:
                    text(str(step))
                replies = text(str(digit))
                assert replies, f"{child} gave no reply"
                assert all(len(r) <= 320 for r in replies), child
                last = replies[-1]
                ways_on = [
                    words(app, k, language)
                    for k in (
                        "prompts.sms.footer_menu",
                        "prompts.sms.footer_topic",
                        "prompts.sms.more",
                        "prompts.sms.footer_main",
                    )
                ]
                if catalog.nodes[child].action is None:
                    assert any(w in last for w in ways_on), f"{child} ({language}) is a dead end"


def test_a_number_that_is_not_an_option_says_so_kindly_and_stays_put(text, app):
    text("MENU")
    replies = text("9")
    assert words(app, "prompts.sms.not_understood") in replies[0]
    assert contact().menu_node == "main"


# -- language ------------------------------------------------------------------------


@pytest.mark.parametrize("keyword", ["ESPANOL", "español", "Spanish"])
def test_espanol_switches_to_spanish_and_the_number_keeps_it(text, app, keyword):
    replies = text(keyword)
    assert words(app, "prompts.sms.language_set", "es") in replies[0]
    assert contact().language == "es"
    assert "1 " + words(app, "topics.next.label", "es") in text("hola")[0]  # kept for later texts


@pytest.mark.parametrize("keyword", ["ENGLISH", "ingles", "Inglés"])
def test_english_switches_back(text, app, keyword):
    text("ESPANOL")
    replies = text(keyword)
    assert words(app, "prompts.sms.language_set", "en") in replies[0]
    assert contact().language == "en"


# -- carrier keywords ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("keyword", "frequency"),
    [
        ("HELP", "Msg frequency varies."),
        ("help", "Msg frequency varies."),
        ("Info", "Msg frequency varies."),
        ("AYUDA", "Frecuencia variable."),
    ],
)
def test_help_names_the_program_a_contact_frequency_rates_how_to_stop_and_911(
    text, keyword, frequency
):
    reply = text(keyword)[0]
    for needed in ("Hope Clinic Navigator", "(617) 555-0100", frequency, "STOP", "911"):
        assert needed in reply
    assert "rates" in reply.lower() or "tarifas" in reply.lower()
    assert "3 msgs" not in reply and "3 mensajes" not in reply  # no promise we cannot keep


def test_with_a_help_address_help_names_it_and_stop_still_names_the_care_team_number(text, app):
    app.config["SUPPORT_URL"] = "https://help.example.org"
    [help_reply] = text("HELP")
    assert "Help at https://help.example.org." in help_reply
    [stop_reply] = text("STOP")
    assert "call (617) 555-0100." in stop_reply and "https" not in stop_reply


def test_start_says_the_frequency_varies(text):
    text("STOP")
    [reply] = text("START")
    assert "Msg frequency varies." in reply and "Msg & data rates may apply." in reply


@pytest.mark.parametrize(
    "keyword",
    [
        "STOP",
        "stop",
        "STOPALL",
        "End",
        "QUIT",
        "cancel",
        "UNSUBSCRIBE",
        "revoke",
        "OPT OUT",
        "PARA",
        "Stop.",
    ],
)
def test_stop_words_opt_out_with_one_confirmation(text, app, keyword):
    replies = text(keyword)
    language = "es" if keyword == "PARA" else "en"  # a new number is answered as it wrote
    assert replies == [words(app, "prompts.sms.stop", language)]
    assert contact().opted_out
    assert contact().opted_out_at is not None
    assert text("STOP") == []  # a second STOP is recorded but not answered again


@pytest.mark.parametrize(
    ("request_text", "language"),
    [
        ("stop texting me", "en"),
        ("Please STOP sending these", "en"),
        ("no more texts please", "en"),
        ("please stop", "en"),
        ("stop please", "en"),
        ("Stop please!", "en"),
        ("stop it", "en"),
        ("unsubscribe me", "en"),
        ("quit texting me", "en"),
        ("don't message me", "en"),
        ("ya no me manden mensajes", "es"),
        ("no me envíen más mensajes", "es"),
        ("no me escriban", "es"),
        ("ya no quiero recibir mensajes", "es"),
        ("dejen de escribirme por favor", "es"),
        ("Basta ya", "es"),
    ],
)
def test_plain_requests_to_stop_are_honoured_with_one_confirmation_in_their_language(
    text, app, request_text, language
):
    assert text(request_text) == [words(app, "prompts.sms.stop", language)]
    assert contact().opted_out
    assert text(request_text) == []  # asking again is not answered again


@pytest.mark.parametrize(
    "message",
    [
        "¿para qué es la biopsia?",
        "when do the scans stop",
        "stop sign",
        "how do I stop it from spreading",
        "¿por qué no me escriben?",  # a complaint that nobody writes, not a request
        "no me envían los resultados",
    ],
)
def test_questions_and_complaints_that_use_stop_words_are_not_an_opt_out(text, app, message):
    replies = text(message)
    assert not contact().opted_out
    assert replies and words(app, "prompts.sms.stop", "en") not in replies
    assert words(app, "prompts.sms.stop", "es") not in replies


@pytest.mark.parametrize("keyword", ["START", "unstop", "YES"])
def test_start_rejoins_after_an_opt_out(text, app, keyword):
    text("STOP")
    replies = text(keyword)
    assert replies == [words(app, "prompts.sms.start")]
    assert not contact().opted_out


# -- a person ------------------------------------------------------------------------


@pytest.mark.parametrize("keyword", ["0", "CALL", "llamar"])
def test_zero_or_call_asks_for_a_person_and_tells_the_coordinators(text, app, keyword):
    replies = text(keyword)
    assert words(app, "prompts.sms.callback") in replies[0]
    assert len(alerts("callback")) == 1


def test_asking_again_while_a_call_back_is_waiting_adds_no_second_inbox_item(text, app):
    text("0")
    again = text("CALL")
    assert words(app, "prompts.sms.callback") in again[0]  # still answered
    assert len(alerts("callback")) == 1
    [waiting] = alerts("callback")
    waiting.resolved_at = waiting.created_at
    db.session.commit()
    text("0")  # after a nurse marked it done, a new request is a new item
    assert len(alerts("callback")) == 2


# -- glossary ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question,term",
    [
        ("what is HER2?", "her2"),
        ("whats her 2", "her2"),
        ("what does HER2-low mean", "her2_low"),
        ("what is a pet scan", "pet"),
        ("bone scan?", "bone_scan"),
        ("what is a biopsy", "biopsy"),
        ("biopsey??", "biopsy"),
        ("what's metastatic", "metastatic"),
        ("metastatc", "metastatic"),
        ("what is herceptin", "trastuzumab"),
        ("Perjeta", "pertuzumab"),
        ("what does oncologist mean", "oncologist"),
    ],
)
def test_questions_that_name_a_term_get_its_definition(text, app, question, term):
    replies = text(question)
    assert words(app, f"glossary.{term}.text") in replies[0]


def test_glossary_answers_in_the_numbers_language(text, app):
    text("ESPANOL")
    replies = text("que es HER2")
    assert words(app, "glossary.her2.text", "es") in replies[0]


@pytest.mark.parametrize(
    "question,term",
    [
        ("que es una biopsia", "biopsy"),
        ("que es HER2", "her2"),
        ("Qué significa metastásico", "metastatic"),
    ],
)
def test_a_question_in_spanish_from_a_new_number_is_answered_in_spanish(text, app, question, term):
    replies = text(question)
    assert words(app, f"glossary.{term}.text", "es") in replies[0]
    assert contact().language == "es"  # and the menus that follow are in Spanish too


def test_a_chosen_language_wins_over_the_words_used(text, app):
    text("ENGLISH")
    assert words(app, "glossary.biopsy.text", "en") in text("biopsia?")[0]
    text("ESPANOL")
    assert words(app, "glossary.biopsy.text", "es") in text("what is a biopsy")[0]


@pytest.mark.parametrize(
    ("message", "key"),
    [
        ("PARA", "prompts.sms.stop"),
        ("Ayuda", "prompts.sms.help"),
        ("gracias", "prompts.sms.thanks"),
    ],
)
def test_a_spanish_keyword_from_a_new_number_is_answered_in_spanish(text, app, message, key):
    assert text(message)[0].startswith(words(app, key, "es")[:20])


def test_a_spanish_text_that_is_not_understood_is_answered_in_spanish(text, app):
    replies = text("hola, tengo una pregunta")
    assert words(app, "prompts.sms.not_understood", "es") in replies[0]


# -- safety --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message,rule",
    [
        ("I cant breathe and my chest hurts", "breathing_chest"),
        ("my back hurts and my legs feel numb", "spinal_cord"),
        ("I have a fever of 101 and chills", "fever"),
        ("I don't want to be here anymore", "crisis"),
        ("no puedo respirar", "breathing_chest"),
        ("tengo fiebre y escalofrios", "fever"),
    ],
)
def test_warning_signs_get_the_action_first_and_an_alert(text, app, message, rule):
    replies = text(message)
    expected = words(app, f"redflags.{rule}.text", "es" if rule and _spanish(message) else "en")
    assert replies[0] == expected
    recorded = alerts("red_flag")
    assert [a.detail for a in recorded] == [rule]


def _spanish(message: str) -> bool:
    return any(w in message for w in ("puedo", "fiebre"))


@pytest.mark.parametrize(
    ("message", "rule"),
    [
        ("me quiero suicidar", "crisis"),
        ("convulsiones", "stroke_seizure"),
        ("es una emergencia", "emergency_question"),
        ("ambulancia", "emergency_question"),
        ("temperatura de 39", "fever"),
    ],
)
def test_a_warning_sign_in_spanish_from_a_new_number_is_answered_in_spanish(
    text, app, message, rule
):
    assert text(message)[0] == words(app, f"redflags.{rule}.text", "es")
    assert [a.detail for a in alerts("red_flag")] == [rule]


def test_warning_signs_are_screened_before_stop(text, app):
    replies = text("stop texting me I want to kill myself")
    assert replies[0].startswith(words(app, "redflags.crisis.text")[:30])
    assert len(alerts("red_flag")) == 1
    assert contact().opted_out


def test_an_ordinary_question_raises_no_alert(text):
    for question in ("what is a bone scan", "when is my biopsy", "how long does a PET scan take"):
        text(question)
    assert alerts("red_flag") == []


# -- the patient's own next step -----------------------------------------------------


def test_next_for_an_unknown_number_gives_no_ones_details(text, app):
    replies = text("NEXT")
    assert replies == [words(app, "prompts.sms.next_unknown")]


def test_next_for_an_enrolled_patient_with_nothing_scheduled_says_so(text, app):
    enroll(NewPatient("Ana Demo", PHONE))
    db.session.commit()
    assert text("NEXT") == [words(app, "prompts.sms.next_none")]


#: Preparation notes as a coordinator might paste them from a site's letter (651 characters):
#: longer than new notes may be, as notes saved before that limit (or by SQL) can be.
PASTED_PREP = (
    "Please don\u2019t eat or drink anything \u2014 not even gum \u2014 for 6 hours before "
    "your scan \U0001f37d\ufe0f. \u201cClear\u201d water is OK until 2 hours before. "
) * 5 + "Bring your insurance card \u2013 and a list of your medicines\u2026 Thanks! \U0001f60a"


def _visit_with_pasted_notes(language: str) -> None:
    from navigator.patients import appointments

    now = utcnow()
    patient = enroll(NewPatient("Ana Demo", PHONE, language=language))
    appointment = appointments.schedule(
        patient,
        "ct",
        (now + timedelta(days=10)).replace(hour=14, minute=0, second=0, microsecond=0),
        "America/New_York",
        "Cl\u00ednica San Jos\u00e9 \u2013 2nd floor \U0001f3e5",
        now=now,
    )
    appointment.prep_notes = PASTED_PREP
    db.session.commit()


def test_next_with_pasted_notes_is_cut_between_words_into_plain_texts(text):
    _visit_with_pasted_notes("en")
    replies = text("NEXT")
    assert len(PASTED_PREP) > 640 and len(replies) >= 3
    assert all(len(reply) <= 320 for reply in replies)
    assert all(is_gsm7(reply) for reply in replies), replies
    joined = " ".join(replies)
    assert "at Clinica San José - 2nd floor." in joined
    assert "Please don't eat or drink anything - not even gum - for 6 hours" in joined
    assert '"Clear" water' in joined and "medicines... Thanks!" in joined
    for reply in replies:  # every cut falls between words
        assert reply == reply.strip() and not reply.startswith(("-", "."))
    assert joined.count("Please don't eat") == 5


def test_next_in_spanish_keeps_the_accents_of_the_place(text):
    _visit_with_pasted_notes("es")
    replies = text("NEXT")
    assert all(len(reply) <= 320 for reply in replies)
    joined = " ".join(replies)
    assert "Clínica San José - 2nd floor" in joined
    assert "\U0001f3e5" not in joined and "\U0001f60a" not in joined


# -- Twilio done right ---------------------------------------------------------------


def test_the_same_message_sid_twice_has_one_effect(text):
    text("0", sid="SM" + "7" * 32)
    assert text("0", sid="SM" + "7" * 32) == []
    assert len(alerts("callback")) == 1
    inbound = db.session.scalars(db.select(Message).filter_by(direction="in")).all()
    assert len(inbound) == 1


def test_a_forged_signature_is_refused(client):
    response = client.post(
        "/twilio/sms",
        data={"From": PHONE, "Body": "hi", "MessageSid": "SM1"},
        headers={"X-Twilio-Signature": "forged"},
    )
    assert response.status_code == 403
    assert db.session.scalar(db.select(Message)) is None


def test_a_missing_signature_is_refused(client):
    response = client.post("/twilio/sms", data={"From": PHONE, "Body": "hi", "MessageSid": "SM1"})
    assert response.status_code == 403


def test_a_signature_for_other_parameters_is_refused(client):
    from twilio_signing import twilio_signature

    signature = twilio_signature("http://localhost/twilio/sms", {"From": PHONE, "Body": "hi"})
    response = client.post(
        "/twilio/sms",
        data={"From": PHONE, "Body": "STOP", "MessageSid": "S"},
        headers={"X-Twilio-Signature": signature},
    )
    assert response.status_code == 403


def test_a_malformed_post_gets_valid_empty_twiml_and_changes_nothing(twilio):
    response = twilio.post("/twilio/sms", {"Body": "hi"})
    assert response.status_code == 200
    assert texts_of(response.data) == []
    # No sender at all (a From that does not parse is still answered: test_odd_input.py).
    response = twilio.post("/twilio/sms", {"Body": "hi", "From": "", "MessageSid": "S"})
    assert texts_of(response.data) == []
    assert db.session.scalar(db.select(Message)) is None


def test_an_internal_failure_still_answers_with_an_apology_and_a_way_to_a_person(
    text, app, monkeypatch
):
    from navigator.core import engine as conversation

    def broken(*args, **kwargs):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(conversation.Engine, "text", broken)
    replies = text("hello")
    assert replies == [
        words(app, "prompts.sms.apology", "en"),
        words(app, "prompts.sms.apology", "es"),
    ]


def test_signatures_are_checked_over_the_public_url_behind_a_proxy(app, client):
    from twilio_signing import TwilioSigner

    app.config["PUBLIC_BASE_URL"] = "https://navigator.example.org"
    signer = TwilioSigner(client, base_url="https://navigator.example.org")
    data = {"MessageSid": "SM" + "9" * 32, "From": PHONE, "To": "+12025550100", "Body": "HELP"}
    assert signer.post("/twilio/sms", data).status_code == 200
    local = TwilioSigner(client)
    data["MessageSid"] = "SM" + "8" * 32
    assert local.post("/twilio/sms", data).status_code == 403


def test_no_message_text_or_number_reaches_the_logs(text, written_logs):
    text("my secret question about HER2", phone="+16175550199")
    logged = written_logs.getvalue()
    assert "inbound SMS" in logged  # the handling was logged, by its SID only
    assert "secret question" not in logged
    assert "6175550199" not in logged


def test_which_warning_sign_a_patient_reported_stays_out_of_the_logs(text, written_logs):
    text("I have a fever of 102 and chills")
    assert alerts("red_flag")[0].detail == "fever"  # coordinators see it in the app
    logged = written_logs.getvalue()
    assert "alert raised: kind=red_flag" in logged
    assert "fever" not in logged.lower()


def test_delivery_reports_move_forward_only(twilio):
    db.session.add(Message(direction="out", phone=PHONE, provider_sid="SMabc", status="queued"))
    db.session.commit()
    for state in ("delivered", "sent"):
        twilio.post("/twilio/status", {"MessageSid": "SMabc", "MessageStatus": state})
    db.session.expire_all()
    assert (
        db.session.scalar(db.select(Message.status).filter_by(provider_sid="SMabc")) == "delivered"
    )


def test_a_failed_delivery_becomes_an_alert(twilio):
    db.session.add(Message(direction="out", phone=PHONE, provider_sid="SMdef", status="sent"))
    db.session.commit()
    twilio.post(
        "/twilio/status",
        {"MessageSid": "SMdef", "MessageStatus": "undelivered", "ErrorCode": "30003"},
    )
    assert [a.detail for a in alerts("delivery_failed")] == ["Twilio error 30003"]


def _postgres_only(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the single-statement hot path is PostgreSQL's")


def test_a_known_numbers_text_reads_its_row_without_writing_it(text, app):
    """A text that leaves the number where it was (a glossary answer) writes no new version
    of its contact row: the hot path reads it, it does not touch it to get it back."""
    _postgres_only(app)
    text("hi")
    version = sa.text("SELECT xmin::text FROM contacts WHERE phone = :p")
    with app.app_context():
        before = db.session.scalar(version, {"p": PHONE})
        db.session.rollback()
    assert "HER2" in " ".join(text("what is HER2?"))
    with app.app_context():
        assert db.session.scalar(version, {"p": PHONE}) == before
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Contact)) == 1


def test_a_first_text_that_raced_its_numbers_row_is_read_again_and_answered_once(
    text, app, monkeypatch
):
    """Two first texts from one new number at once: the one whose statement began before
    the other's row was committed finds no row (made elsewhere, unseen by its snapshot).
    It sends the statement again, finds the text it already stored, and answers it."""
    _postgres_only(app)
    real_fetch, calls = turns.fetch, []

    def first_finds_no_row(statement, params):
        row = real_fetch(statement, params)
        calls.append(row)
        return None if len(calls) == 1 else row

    monkeypatch.setattr(turns, "fetch", first_finds_no_row)
    replies = text("hi", sid="SM" + "7" * 32)
    assert replies and "went wrong" not in " ".join(replies)
    with app.app_context():
        stored = db.session.scalars(
            sa.select(Message.status).where(Message.provider_sid == "SM" + "7" * 32)
        ).all()
        assert stored == ["handled"]
