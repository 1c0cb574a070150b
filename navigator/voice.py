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

from flask import Blueprint, current_app, request, url_for
from twilio.twiml.voice_response import Gather, Say, VoiceResponse
from werkzeug.security import check_password_hash

from . import menus, outbound, outcomes, turns
from .content import LANGUAGES, catalog
from .conversation import Facts, Show, engine_for
from .conversation import Say as SayKey
from .extensions import csrf, db
from .menus import Position
from .models import Contact, Patient, utcnow
from .patients import contact_for, patient_for
from .phones import InvalidPhone, to_e164
from .twiml import webhook, xml

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__, url_prefix="/twilio/voice")
csrf.exempt(bp)

#: Text-to-speech voice and recognition language per content language.
VOICES = {"en": ("Polly.Joanna", "en-US"), "es": ("Polly.Lupe", "es-US")}
SPEECH_RATE = "90%"  # a little slower than the default, for older and anxious callers
GATHER_SECONDS = 10  # the longest of the ISO 13714 range; relay callers need it
MISSES_BEFORE_PERSON = 2
#: Effects of a key press that need the caller's records; the rest need no database.
NEEDS_RECORDS = {"red_flag", "set_language", "text_me", "next_appointment"}


def say(parent, text: str, language: str) -> None:
    """Speak ``text`` in the language's voice, at an unhurried rate."""
    voice, locale = VOICES[language]
    spoken = Say(voice=voice, language=locale)
    spoken.prosody(text, rate=SPEECH_RATE)
    parent.append(spoken)


def words(key: str, language: str, **values) -> str:
    return catalog().render(key, language, **{**outcomes.common_values(), **values})


def apology() -> VoiceResponse:
    """Said when a step fails: sorry, then straight to a person. Touches no database."""
    response = VoiceResponse()
    say(response, words("prompts.voice.apology", "en"), "en")
    care_team = current_app.config.get("CARE_TEAM_PHONE")
    if care_team:
        response.dial(care_team)
    else:
        response.redirect(url_for("voice.person", miss=0), method="POST")
    return response


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


def _gather(action: str, language: str, hints: str = "", **kwargs) -> Gather:
    return Gather(
        input="dtmf speech",
        action=action,
        method="POST",
        timeout=GATHER_SECONDS,
        speech_timeout="auto",
        language=VOICES[language][1],
        hints=hints or None,
        action_on_empty_result=False,
        **kwargs,
    )


@bp.post("")
@webhook(apology)
def incoming():
    """A call to the navigator's number.

    Sample payload: ``CallSid=CA...&AccountSid=AC...&From=%2B16175550143&To=%2B12025550100
    &CallStatus=ringing&Direction=inbound``. The greeting names the emergency line first,
    then offers both languages, each in its own voice; a known caller hears their own
    language first and keeps it if they press nothing.
    """
    state = _state(create=True)
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


@bp.post("/language")
@webhook(apology)
def language():
    """The caller's answer to the language offer: 1 English, 2 Spanish, or spoken."""
    contact, current = _caller()
    choice = request.form.get("Digits", "")
    speech = request.form.get("SpeechResult", "")
    engine = engine_for(catalog())
    spoken = engine.keywords.spoken_kind(speech) if speech else None
    chosen = {"1": "en", "2": "es"}.get(choice) or {"english": "en", "spanish": "es"}.get(
        spoken or ""
    )
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
    here = Position(request.args.get("node", menus.MAIN))
    if miss >= MISSES_BEFORE_PERSON:
        return xml(_to_person(language))
    response = render_node(
        here, language, miss=miss, lead="prompts.voice.no_input" if miss else None
    )
    return xml(response)


def render_node(
    here: Position,
    language: str,
    *,
    miss: int,
    lead: str | None = None,
    before: list[str] | None = None,
) -> VoiceResponse:
    """A node as speech: its words, its options, the reserved keys, inside one Gather."""
    content = catalog()
    current = menus.node(content, here.node)
    response = VoiceResponse()
    for text in before or []:
        say(response, text, language)
    hints = ", ".join(
        content.render(f"topics.{child}.label", language) for child in current.children
    )
    gather = _gather(
        url_for("voice.choose", node=current.id, miss=miss), language, hints=hints, num_digits=1
    )
    if lead:
        say(gather, words(lead, language), language)
    if not current.action:
        say(gather, content.render(f"topics.{current.id}.voice", language), language)
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
    response.redirect(url_for("voice.node", node=current.id, miss=miss + 1), method="POST")
    return response


@bp.post("/choose")
@webhook(apology)
def choose():
    """What the caller pressed or said at a node."""
    state = _state()
    language = state.language if state else "en"
    here = Position(request.args.get("node", menus.MAIN))
    miss = request.args.get("miss", 0, type=int)
    digits = request.form.get("Digits", "")
    speech = request.form.get("SpeechResult", "")
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
    if state is not None and kinds & NEEDS_RECORDS:
        contact = db.session.get(Contact, state.contact_id)
        patient = db.session.get(Patient, state.patient_id) if state.patient_id else None
        # The phone's position travels in URLs; keep the one the texts remember.
        text_position = contact.menu_node, contact.menu_page
        outcomes.apply(outcome, contact, patient, now=utcnow())
        contact.menu_node, contact.menu_page = text_position
        db.session.commit()

    spoken_first = [
        words(r.key, language, **r.values) for r in outcome.replies if isinstance(r, SayKey)
    ]
    if "red_flag" in kinds or "person" in kinds:
        return xml(_to_person(language, before=spoken_first))
    if "no_match" in kinds:
        if miss + 1 >= MISSES_BEFORE_PERSON:
            return xml(_to_person(language))
        return xml(render_node(here, language, miss=miss + 1, lead="prompts.voice.no_match"))
    if "text_me" in kinds:
        return xml(_text_me(contact, patient, here, language))
    if "next_appointment" in kinds:
        return xml(_next_step(contact, patient, language))
    shown = next((r.position for r in outcome.replies if isinstance(r, Show)), here)
    return xml(render_node(shown, language, miss=0, before=spoken_first))


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
        response = VoiceResponse()
        gather = Gather(
            input="dtmf",
            action=url_for("voice.verify"),
            method="POST",
            timeout=GATHER_SECONDS,
            finish_on_key="#",
            num_digits=8,
        )
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
    """Check the date of birth (MMDDYYYY) or PIN keyed in before telling a visit."""
    contact, language = _caller()
    patient = patient_for(contact.phone) if contact else None
    entered = request.form.get("Digits", "").strip()
    if patient is not None and _matches(patient, entered):
        contact.verified_call_sid = request.form.get("CallSid")
        contact.failed_checks = 0
        db.session.commit()
        return xml(_next_step(contact, patient, language))
    if contact is not None:
        contact.failed_checks = (contact.failed_checks or 0) + 1
        db.session.commit()
        log.info("phone identity check failed (%d in a row)", contact.failed_checks)
        if contact.failed_checks % MISSES_BEFORE_PERSON == 0:
            return xml(
                _to_person(language, before=[words("prompts.voice.verify_failed", language)])
            )
    return xml(
        render_node(
            Position(), language, miss=0, before=[words("prompts.voice.verify_failed", language)]
        )
    )


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
    care_team = current_app.config.get("CARE_TEAM_PHONE")
    if care_team:
        say(response, words("prompts.voice.connecting", language), language)
        response.dial(
            care_team,
            action=url_for("voice.after_dial"),
            method="POST",
            timeout=30,
            caller_id=current_app.config.get("TWILIO_PHONE_NUMBER") or None,
        )
        return response
    return _voicemail(response, language)


def _voicemail(response: VoiceResponse, language: str) -> VoiceResponse:
    say(response, words("prompts.voice.voicemail", language), language)
    response.record(
        action=url_for("voice.recorded"), method="POST", max_length=120, play_beep=True, timeout=10
    )
    say(response, words("prompts.voice.goodbye", language), language)
    return response


@bp.post("/after-dial")
@webhook(apology)
def after_dial():
    """When nobody at the care team answered, take a message instead of hanging up."""
    _, language = _caller()
    response = VoiceResponse()
    if request.form.get("DialCallStatus") in ("completed", "answered"):
        response.hangup()
        return xml(response)
    return xml(_voicemail(response, language))


@bp.post("/recorded")
@webhook(apology)
def recorded():
    """A message left for the care team: it becomes an alert for the coordinators.

    Sample payload: ``CallSid=CA...&From=%2B1617...&RecordingUrl=https://api.twilio.com/...
    &RecordingDuration=14``.
    """
    contact, language = _caller()
    if contact is not None:
        patient = patient_for(contact.phone)
        outcomes.raise_alert(
            "voicemail",
            contact,
            patient,
            detail="recorded message",
            recording_url=request.form.get("RecordingUrl") or None,
        )
        db.session.commit()
    response = VoiceResponse()
    say(response, words("prompts.voice.voicemail_thanks", language), language)
    response.hangup()
    return xml(response)
