"""Phone calls: the voice renderer of the same conversation the texts use.

A call moves through small webhooks, one per step, each returning TwiML built with the
SDK's classes: the greeting (emergency line and language choice), a node of the menu
(``<Gather>`` that accepts keys and speech), the choice made there, the identity check
before personal details, and the way to a person (``<Dial>`` to the care team, or a
recorded message that becomes an alert when no line is set or nobody answers).

Keys at every prompt: 1-4 options, 8 repeat, * back, 7 text me this, 0 a person.
Silence or a wrong key is a miss; after two misses in a row the caller is connected to
a person rather than hung up on. The position in the menu travels in the action URLs.
"""

from __future__ import annotations

import logging
import re

from flask import Blueprint, request, url_for
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.security import check_password_hash

from .. import alerts
from ..catalog import catalog
from ..core import menus
from ..core.content import LANGUAGES
from ..core.engine import Facts, Show, engine_for
from ..core.engine import Say as SayKey
from ..core.menus import Position
from ..core.phones import InvalidPhone, to_e164
from ..extensions import csrf, db
from ..models import Contact, Patient, utcnow
from ..patients import identity_check
from ..patients.enrolment import contact_for, patient_for
from ..telephony import outbound
from ..telephony.twiml import webhook, xml
from . import call_kit, calls, durable_inbound, outcomes, turns
from .call_kit import MISSES_BEFORE_PERSON, say, spoken_words, words

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__, url_prefix="/twilio/voice")
csrf.exempt(bp)

SPOKEN_NUMBER = re.compile(r"[\d\s.,-]+")  # how speech recognition writes a number said aloud
#: Effects of a key press that need the caller's records; the rest need no database.
NEEDS_RECORDS = {
    "red_flag",
    "set_language",
    "text_me",
    "next_appointment",
    "callback",
    "opt_out",
    "question",
    "review",
    "appointment_reply",
    "prep",
}


def apology() -> VoiceResponse:
    """Said when a step fails: sorry, then the care team's line or a message, then goodbye.

    Touches no database (the failure may be the database), and never sends the caller
    back into a step that reads it: from here a call only moves forward, to the care
    team's line, then ``after_dial``, then ``recorded``, and the apology of each of those
    drops the step before it. So a call with the database down ends; it cannot loop.
    """
    return _apology(dial=True, record=True)


def _apology_after_dial() -> VoiceResponse:
    return _apology(dial=False, record=True)


def _apology_after_recording() -> VoiceResponse:
    return _apology(dial=False, record=False)


def _apology(*, dial: bool, record: bool) -> VoiceResponse:
    """English, then Spanish: with the database down, the caller's language is unknown."""
    return call_kit.apology(
        "prompts.voice.apology",
        dial=dial,
        record=url_for("voice.recorded") if record else None,
        after_dial=url_for("voice.after_dial"),
    )


def _phone() -> str | None:
    try:
        return to_e164(request.form.get("From", ""))
    except InvalidPhone:
        return None  # a hidden number ("anonymous"): general menus only


def _state(create: bool = False) -> turns.Caller | None:
    """The caller's state in one statement (the hot steps of a call use this)."""
    phone = _phone()
    return turns.caller(phone, create=create, now=utcnow()) if phone else None


def _caller(create: bool = False) -> tuple[Contact | None, str]:
    """The caller's contact row and language. Only the greeting creates the row; the later
    steps of a call read it (one write fewer on every key press)."""
    try:
        phone = to_e164(request.form.get("From", ""))
    except InvalidPhone:
        return None, "en"
    contact = None if create else db.session.scalar(db.select(Contact).filter_by(phone=phone))
    if contact is None:
        contact = contact_for(phone)
    return contact, contact.language or "en"


_gather = call_kit.gather


@bp.post("")
@webhook(apology)
def incoming():
    """A call to the navigator's number.

    Sample payload: ``CallSid=CA...&AccountSid=AC...&From=%2B16175550143&To=%2B12025550100
    &CallStatus=ringing&Direction=inbound``. The greeting names the emergency line first,
    then offers both languages, each in its own voice; a known caller hears their own
    language first and keeps it if they press nothing. The call is recorded once, for the
    caller's timeline; the later steps write nothing unless a key press has effects.
    """
    phone, sid, now = _phone(), request.form.get("CallSid", "").strip(), utcnow()
    # A hidden number has no timeline; on PostgreSQL the call is recorded in the same
    # statement that reads the caller.
    state = turns.caller(phone, create=True, now=now, call_sid=sid) if phone else None
    if state is not None and sid and db.engine.dialect.name != "postgresql":
        calls.record(sid, phone, state.patient_id, now)
    language = state.language if state else "en"
    response = VoiceResponse()
    first = [language] + [other for other in LANGUAGES if other != language]
    gather = _gather(url_for("voice.language"), language, num_digits=1)
    say(gather, words("prompts.voice.greeting", language), language)
    for each in first:
        say(gather, words("prompts.voice.language_offer", each), each)
    response.append(gather)
    response.redirect(url_for("voice.node", node=menus.MAIN, miss=0), method="POST")
    return xml(response)


@bp.post("/fallback")
@webhook(apology)
def fallback():
    """Twilio's fallback URL for calls: called when a call step failed or timed out.

    It never touches the database. Words the caller said are screened: a warning sign
    gets its advice before the care team's line; the words are kept in the spool for the
    inbox. Otherwise the apology: the care team's line, or a recorded message.
    """
    speech = request.form.get("SpeechResult", "").strip()
    flag = durable_inbound.first_screen(speech)
    if flag is None:
        return xml(apology())
    durable_inbound.keep_speech(
        request.form.get("CallSid", ""), _phone(), speech, reason="fallback URL"
    )
    return xml(
        _to_person(flag.language, before=[words(f"redflags.{flag.rule}.text", flag.language)])
    )


@bp.post("/status")
@webhook(VoiceResponse)
def status():
    """Twilio's call status callback for calls to the number: how the call ended, how long.

    Sample payload: ``CallSid=CA...&CallStatus=completed&CallDuration=125&From=%2B1617...``.
    """
    sid = request.form.get("CallSid", "").strip()
    ended = request.form.get("CallStatus", "").strip().lower()
    if sid and ended:
        seconds = request.form.get("CallDuration", "")
        calls.finish(sid, ended, int(seconds) if seconds.isdigit() else None, utcnow())
        db.session.commit()
    return xml(VoiceResponse())


@bp.post("/language")
@webhook(apology)
def language():
    """The caller's answer to the greeting: 1 English, 2 Spanish, or anything else.

    Words ("espanol", "operator", a warning sign, "biopsia") and 0 are answered as at the
    main menu, with the same screen and the same way to a person as every other prompt.
    """
    choice = request.form.get("Digits", "")
    speech = request.form.get("SpeechResult", "")
    if choice == "0" or (speech and not choice):
        return xml(_answer(Position(), 0, choice, speech))
    contact, current = _caller()
    chosen = {"1": "en", "2": "es"}.get(choice)
    if contact is not None and chosen:
        contact.language = chosen
        contact.language_chosen = True
        patient = patient_for(contact.phone)
        if patient:
            patient.language = chosen
    db.session.commit()
    return xml(render_node(Position(), chosen or current, miss=0))


@bp.post("/node")
@webhook(apology)
def node():
    """Read a node and wait for a choice; a silent caller comes back here with miss+1."""
    state = _state()
    language = state.language if state else "en"
    miss = request.args.get("miss", 0, type=int)
    here = _position()
    if miss >= MISSES_BEFORE_PERSON:
        return xml(_to_person(language))
    response = render_node(
        here, language, miss=miss, lead="prompts.voice.no_input" if miss else None
    )
    return xml(response)


def _position() -> Position:
    """Where the caller is: the node, and the spoken part of it, carried in the URL."""
    return Position(
        request.args.get("node", menus.MAIN), max(request.args.get("page", 0, type=int), 0)
    )


def render_node(
    here: Position,
    language: str,
    *,
    miss: int,
    lead: str | None = None,
    before: list[str] | None = None,
) -> VoiceResponse:
    """A node as speech: its words, its options, the reserved keys, inside one Gather.

    A long topic is spoken one part at a time (about 30 seconds each, as callers cannot
    scroll back); a part with more after it offers "To hear more, press 1".
    """
    content = catalog()
    current = menus.node(content, here.node)
    response = VoiceResponse()
    for text in before or []:
        say(response, text, language)
    hints = ", ".join(
        content.render(f"topics.{child}.label", language) for child in current.children
    )
    gather = _gather(
        url_for("voice.choose", node=current.id, page=here.page, miss=miss),
        language,
        hints=hints,
        num_digits=1,
    )
    if lead:
        say(gather, words(lead, language), language)
    if not current.action:
        parts = content.pages(f"topics.{current.id}.voice", language)
        say(gather, parts[min(here.page, len(parts) - 1)], language)
        if not current.children and menus.more(content, here, language, channel="voice"):
            say(gather, words("prompts.voice.more", language), language)
    for digit, child in enumerate(current.children, 1):
        option = words(
            "prompts.voice.option",
            language,
            digit=digit,
            say=content.render(f"topics.{child}.say", language),
        )
        say(gather, option, language)
    if not current.children:
        say(gather, words("prompts.voice.text_offer", language), language)
    reserved = (
        "prompts.voice.reserved_main" if current.id == menus.MAIN else "prompts.voice.reserved"
    )
    say(gather, words(reserved, language), language)
    response.append(gather)
    response.redirect(
        url_for("voice.node", node=current.id, page=here.page, miss=miss + 1), method="POST"
    )
    return response


@bp.post("/choose")
@webhook(apology)
def choose():
    """What the caller pressed or said at a node."""
    here = _position()
    miss = request.args.get("miss", 0, type=int)
    return xml(
        _answer(here, miss, request.form.get("Digits", ""), request.form.get("SpeechResult", ""))
    )


def _answer(here: Position, miss: int, digits: str, speech: str) -> VoiceResponse:
    """A key press or spoken answer at ``here``: screened first, then the menu's rules.

    Spoken words are screened before any database work: if the caller's records cannot be
    read or written, a warning sign still gets its advice and the care team's line, and
    the words are kept in the spool for the inbox (durable_inbound).
    """
    flag = durable_inbound.first_screen(speech)
    try:
        return _answer_with_records(here, miss, digits, speech)
    except Exception as exc:
        if not speech:
            raise  # a key press: the apology dials the care team
        durable_inbound.keep_speech(request.form.get("CallSid", ""), _phone(), speech, exc)
        if flag is None:
            return apology()
        advice = words(f"redflags.{flag.rule}.text", flag.language)
        return _to_person(flag.language, before=[advice])


def _answer_with_records(here: Position, miss: int, digits: str, speech: str) -> VoiceResponse:
    state = _state()
    language = state.language if state else "en"
    facts = Facts(
        language,
        bool(state and state.language_chosen),
        bool(state and state.opted_out),
        bool(state and state.patient_id),
    )
    outcome = engine_for(catalog()).keypad(here, digits, speech, facts)
    kinds = {effect.kind for effect in outcome.effects}
    language = outcome.language
    contact = patient = None
    replies = outcome.replies
    if state is not None and kinds & NEEDS_RECORDS:
        contact = db.session.get(Contact, state.contact_id)
        patient = db.session.get(Patient, state.patient_id) if state.patient_id else None
        # The phone's position travels in URLs; keep the one the texts remember.
        text_position = contact.menu_node, contact.menu_page
        said = outcomes.keep_spoken_words(speech, kinds, contact.phone, state.patient_id)
        replies = outcomes.apply(
            outcome, contact, patient, now=utcnow(), channel="voice", inbound=said
        )
        contact.menu_node, contact.menu_page = text_position
        db.session.commit()
    elif state is None and "red_flag" in kinds:
        # A hidden number: nobody to call back, but the warning sign still reaches the inbox.
        said = outcomes.keep_spoken_words(speech, kinds, "", None)
        alerts.raise_alert(
            "red_flag", None, None, detail=outcome.effect("red_flag").detail, message=said
        )
        db.session.commit()

    spoken_first = [
        spoken_words(r.key, language, **r.values) for r in replies if isinstance(r, SayKey)
    ]
    if "hang_up" in kinds:
        return _hang_up(language, before=spoken_first)
    if "red_flag" in kinds or "person" in kinds:
        return _to_person(language, before=spoken_first)
    if "opt_out" in kinds:
        return _goodbye(language, before=spoken_first)
    if "no_match" in kinds:
        if miss + 1 >= MISSES_BEFORE_PERSON:
            return _to_person(language)
        return render_node(here, language, miss=miss + 1, lead="prompts.voice.no_match")
    if "text_me" in kinds:
        return _text_me(contact, patient, here, language)
    if "next_appointment" in kinds:
        return _next_step(contact, patient, language)
    shown = next((r.position for r in replies if isinstance(r, Show)), None)
    if shown is None and spoken_first:
        return _answered(here, language, spoken_first)
    return render_node(shown or here, language, miss=0, before=spoken_first)


def _answered(here: Position, language: str, spoken: list[str]) -> VoiceResponse:
    """An answer to what the caller asked, then the way on: a person (0), the menu they
    were at (8), or another question. Silence goes back to that menu, not a miss."""
    response = VoiceResponse()
    gather = _gather(
        url_for("voice.choose", node=here.node, page=here.page, miss=0), language, num_digits=1
    )
    for text in [*spoken, words("prompts.voice.after_answer", language)]:
        say(gather, text, language)
    response.append(gather)
    response.redirect(url_for("voice.node", node=here.node, page=here.page, miss=0), method="POST")
    return response


def _goodbye(language: str, before: list[str]) -> VoiceResponse:
    """End the call politely after what must be said (an opt-out's confirmation)."""
    return call_kit.end_call(language, [*before, words("prompts.voice.goodbye", language)])


def _hang_up(language: str, before: list[str]) -> VoiceResponse:
    """Say what must be said ("hang up and call 911"), then end the call.

    The caller was just told to hang up and call 911: holding them on the line for the
    care team, or a goodbye, would only keep them from dialling.
    """
    return call_kit.end_call(language, before)


def _text_me(contact, patient, here: Position, language: str) -> VoiceResponse:
    """Send what the caller just heard as texts (the topic's text pages)."""
    lead = "prompts.voice.texted"
    if contact is None or contact.opted_out:
        lead = "prompts.voice.text_failed"
    else:
        pages = catalog().pages(f"topics.{here.node}.text", language)
        intro = words("prompts.sms.texted_from_call", language)
        try:
            for body in [intro + "\n" + pages[0], *pages[1:]]:
                outbound.send_sms(
                    contact.phone,
                    body,
                    patient_id=patient.id if patient else None,
                    content_key=f"topics.{here.node}.text",
                )
            db.session.commit()
        except outbound.SendError as exc:
            db.session.rollback()
            log.warning("text-me for a caller failed: code=%s", exc.code)
            lead = "prompts.voice.text_failed"
    return render_node(here, language, miss=0, before=[words(lead, language)])


def _next_step(contact, patient, language: str) -> VoiceResponse:
    """The caller's own next visit, only after the identity check on this call."""
    if patient is None:
        return render_node(
            Position(), language, miss=0, before=[words("prompts.voice.next_unknown", language)]
        )
    if contact.verified_call_sid != request.form.get("CallSid"):
        if identity_check.locked(contact):
            return _check_locked(language)
        response = VoiceResponse()
        gather = _gather(url_for("voice.verify"), language, finish_on_key="#", num_digits=8)
        say(gather, words("prompts.voice.verify", language), language)
        response.append(gather)
        response.redirect(url_for("voice.node", node=menus.MAIN, miss=1), method="POST")
        return response
    spoken = [
        words(r.key, language, **r.values)
        for r in outcomes.next_appointment_replies(patient, language, utcnow(), "voice")
    ]
    return render_node(Position(), language, miss=0, before=spoken)


@bp.post("/verify")
@webhook(apology)
def verify():
    """Check the date of birth (MMDDYYYY) or PIN keyed in before telling a visit.

    This is a prompt like the others: 0 (with or without the pound key) or words such as
    "operator" reach a person, and spoken words are screened for warning signs first.
    Neither counts as a failed check. After ``identity_check.TRIES`` wrong tries in a row
    the number is locked: nothing is compared until a coordinator allows it again.
    """
    entered = request.form.get("Digits", "").strip().rstrip("#")
    speech = request.form.get("SpeechResult", "").strip()
    if speech and not entered:
        if not SPOKEN_NUMBER.fullmatch(speech):
            return xml(_answer(Position(), 0, "", speech))
        entered = re.sub(r"\D", "", speech)  # a date of birth or PIN said aloud
    if entered == "0":
        return xml(_answer(Position(), 0, "0", ""))
    contact, language = _caller()
    if contact is not None and not identity_check.claim_try(contact):
        return xml(_check_locked(language))
    patient = patient_for(contact.phone) if contact else None
    if patient is not None and _matches(patient, entered):
        contact.verified_call_sid = request.form.get("CallSid")
        identity_check.passed(contact)
        db.session.commit()
        return xml(_next_step(contact, patient, language))
    if contact is not None:
        identity_check.failed(contact, patient)
        db.session.commit()
        log.info("phone identity check failed (%d in a row)", contact.failed_checks)
        if identity_check.locked(contact):
            return xml(_check_locked(language, words("prompts.voice.verify_failed", language)))
        if contact.failed_checks % MISSES_BEFORE_PERSON == 0:
            return xml(
                _to_person(language, before=[words("prompts.voice.verify_failed", language)])
            )
    return xml(
        render_node(
            Position(), language, miss=0, before=[words("prompts.voice.verify_failed", language)]
        )
    )


def _check_locked(language: str, *before: str) -> VoiceResponse:
    """The check is locked for this number: why no details today, then the main menu
    (which offers a person)."""
    spoken = [*before, words("prompts.voice.check_locked", language)]
    return render_node(Position(), language, miss=0, before=spoken)


def _matches(patient, entered: str) -> bool:
    if not entered.isdigit():
        return False
    if patient.date_of_birth and entered == patient.date_of_birth.strftime("%m%d%Y"):
        return True
    return bool(patient.pin_hash) and check_password_hash(patient.pin_hash, entered)


@bp.post("/person")
@webhook(apology)
def person():
    """Reached by redirect when a step sends the caller to a person."""
    _, language = _caller()
    return xml(_to_person(language))


def _to_person(language: str, before: list[str] | None = None) -> VoiceResponse:
    """Connect to the care team's line; without one, take a message that becomes an alert."""
    response = VoiceResponse()
    for text in before or []:
        say(response, text, language)
    return call_kit.put_through(response, language, **_ways_on(language))


def _ways_on(language: str) -> dict:
    """Where this line's later steps are, and its last words after a message."""
    return {
        "after_dial": url_for("voice.after_dial"),
        "recorded": url_for("voice.recorded"),
        "goodbye": words("prompts.voice.goodbye", language),
    }


@bp.post("/after-dial")
@webhook(_apology_after_dial)
def after_dial():
    """When nobody at the care team answered, a call-back item and a message instead of
    hanging up (call_kit.missed_transfer)."""
    if call_kit.transfer_answered(request.form.get("DialCallStatus")):
        return xml(call_kit.hang_up())
    contact, language = _caller()
    patient = patient_for(contact.phone) if contact is not None else None
    ways = _ways_on(language)
    response = call_kit.missed_transfer(
        language, contact, patient, recorded=ways["recorded"], goodbye=ways["goodbye"]
    )
    db.session.commit()
    return xml(response)


@bp.post("/recorded")
@webhook(_apology_after_recording)
def recorded():
    """A message left for the care team: it becomes an alert for the coordinators.

    Sample payload: ``CallSid=CA...&From=%2B1617...&RecordingUrl=https://api.twilio.com/...
    &RecordingDuration=14&RecordingSid=RE...``.

    Twilio may post the same recording twice (a retry): one RecordingSid, one inbox item.
    If the database cannot take it, the recording is kept in the spool and the caller is
    thanked all the same, in both languages (theirs cannot be read).
    """
    recording_sid = request.form.get("RecordingSid", "").strip() or None
    url = request.form.get("RecordingUrl") or None
    try:
        contact, language = _caller()
        # From a hidden number too: the message may say who is calling.
        alerts.raise_alert(
            "voicemail",
            contact,
            patient_for(contact.phone) if contact else None,
            detail="recorded message",
            recording_url=url,
            source_sid=recording_sid,
        )
        db.session.commit()
        languages = [language]
    except Exception as exc:
        if not recording_sid:
            raise
        durable_inbound.keep_recording(recording_sid, _phone(), url or "", utcnow(), exc)
        languages = list(LANGUAGES)
    return xml(call_kit.thanks_for_the_message(languages))
