"""The phone-call kit: the steps every call shares, whoever placed it.

The navigator's own line (voice.py) and reminder calls (reminder_calls.py) are two
conversations, but a caller must meet the same voice, the same patience and the same way to
a person on both. So the steps they share live here, once: speaking (the voice, language and
rate in prompts.yaml ``voice.settings``), listening (``gather``), the words the conversation
decided as a caller hears them, ending a call, the apology when a step fails, putting the
call through to the care team, the message taken when nobody answers, and what happens
after the care team's line rang.

Each call module passes the URLs of its own later steps (a reminder call knows its caller
by the reminder in the URL, the line by ``From``). Nothing here commits: the step that
calls the kit does, once.
"""

from __future__ import annotations

from flask import current_app
from twilio.twiml.voice_response import Gather, Say, VoiceResponse

from ..catalog import catalog, site_values
from ..core.content import LANGUAGES
from ..models import Contact, Patient
from . import outcomes

GATHER_SECONDS = 10  # the longest of the ISO 13714 range; relay callers need it
MISSES_BEFORE_PERSON = 2
DIAL_SECONDS = 30  # rings at the care team's line before a message is taken instead
RECORD_SECONDS = 120
#: Why a call-back item is left when the care team's line rang out.
MISSED_TRANSFER = "the care team line did not answer"
#: Replies written for a text whose spoken form lives elsewhere (answers.yaml, ``say:``).
SPOKEN_FORMS = {"answers.": "answers.say.", "reminders.replies.": "answers.say.visit_"}


def locale(language: str) -> str:
    """The speech-recognition and text-to-speech locale for a content language (es-US)."""
    return catalog().render("prompts.voice.settings.language", language)


def say(parent, text: str, language: str) -> None:
    """Speak ``text`` in the language's voice, at the unhurried rate set in messages/."""
    content = catalog()
    spoken = Say(
        voice=content.render("prompts.voice.settings.voice", language), language=locale(language)
    )
    spoken.prosody(text, rate=content.render("prompts.voice.settings.rate", language))
    parent.append(spoken)


def words(key: str, language: str, **values) -> str:
    """Content at ``key`` with the program's name and numbers (``values`` win)."""
    return catalog().render(key, language, **{**site_values(), **values})


def spoken_words(key: str, language: str, **values) -> str:
    """A reply decided by the conversation, as a caller hears it: an answer's ``say``
    variant where its text says to reply or text (or names 911 as digits), else the text."""
    for prefix, spoken in SPOKEN_FORMS.items():
        if key.startswith(prefix):
            variant = spoken + key.removeprefix(prefix)
            if variant in catalog().strings[language]:
                return words(variant, language, **values)
    return words(key, language, **values)


def gather(action: str, language: str, hints: str = "", **kwargs) -> Gather:
    """Listen for keys and words in the caller's language, patiently."""
    return Gather(
        input="dtmf speech",
        action=action,
        method="POST",
        timeout=GATHER_SECONDS,
        speech_timeout="auto",
        language=locale(language),
        hints=hints or None,
        action_on_empty_result=False,
        **kwargs,
    )


def end_call(language: str, lines: list[str] | tuple[str, ...]) -> VoiceResponse:
    """Say what must be said, then hang up (a goodbye is one of the lines, if wanted)."""
    response = VoiceResponse()
    for text in lines:
        say(response, text, language)
    response.hangup()
    return response


def apology(
    key: str,
    *,
    dial: bool = False,
    record: str | None = None,
    after_dial: str | None = None,
    **values,
) -> VoiceResponse:
    """Said when a step fails: sorry in every language (with the database down the caller's
    is unknown), then the care team's line when ``dial`` and one is set, else a recorded
    message when ``record`` names where it goes, else goodbye. Touches no database."""
    response = VoiceResponse()
    for language in LANGUAGES:
        say(response, words(key, language, **values), language)
    care_team = current_app.config.get("CARE_TEAM_PHONE")
    if dial and care_team:
        for language in LANGUAGES:
            say(response, words("prompts.voice.connecting", language), language)
        dial_care_team(response, care_team, after_dial)
        return response
    if record:
        for language in LANGUAGES:
            say(response, words("prompts.voice.leave_message", language), language)
        take_message(response, record)
    response.hangup()
    return response


def put_through(
    response: VoiceResponse, language: str, *, after_dial: str, recorded: str, goodbye: str
) -> VoiceResponse:
    """Connect to the care team's line; without one, take a message that becomes an alert.

    ``after_dial`` is where Twilio posts when the line's ringing ends (see ``after_dial``),
    ``recorded`` where a message goes, ``goodbye`` the last words after a message.
    """
    care_team = current_app.config.get("CARE_TEAM_PHONE")
    if not care_team:
        return voicemail(response, language, recorded=recorded, goodbye=goodbye)
    say(response, words("prompts.voice.connecting", language), language)
    dial_care_team(response, care_team, after_dial)
    return response


def dial_care_team(response: VoiceResponse, care_team: str, action: str | None) -> None:
    """Put the call through to the care team; Twilio posts to ``action`` when it ends."""
    response.dial(
        care_team,
        action=action,
        method="POST",
        timeout=DIAL_SECONDS,
        caller_id=current_app.config.get("TWILIO_PHONE_NUMBER") or None,
    )


def voicemail(
    response: VoiceResponse, language: str, *, recorded: str, goodbye: str
) -> VoiceResponse:
    """Nobody can take the call: ask for a message after the tone, then goodbye."""
    say(response, words("prompts.voice.voicemail", language), language)
    take_message(response, recorded)
    say(response, goodbye, language)
    return response


def take_message(response: VoiceResponse, action: str | None) -> None:
    """Record a message after the beep; Twilio posts the recording to ``action``."""
    response.record(
        action=action, method="POST", max_length=RECORD_SECONDS, play_beep=True, timeout=10
    )


def transfer_answered(dial_status: str | None) -> bool:
    """Whether someone at the care team picked up (Twilio's ``DialCallStatus``)."""
    return dial_status in ("completed", "answered")


def hang_up() -> VoiceResponse:
    """The call is over (the care team answered and the call ended)."""
    response = VoiceResponse()
    response.hangup()
    return response


def missed_transfer(
    language: str,
    contact: Contact | None,
    patient: Patient | None,
    *,
    recorded: str,
    goodbye: str,
) -> VoiceResponse:
    """Nobody at the care team answered: leave a call-back item at once, take a message.

    A caller who hangs up without leaving a message has still asked for a person and must
    not vanish, on the navigator's line and on a reminder call alike. One waiting call-back
    item per number (``outcomes.request_callback``). The caller commits.
    """
    if contact is not None:
        outcomes.request_callback(contact, patient, detail=MISSED_TRANSFER)
    return voicemail(VoiceResponse(), language, recorded=recorded, goodbye=goodbye)


def thanks_for_the_message(languages: list[str] | tuple[str, ...]) -> VoiceResponse:
    """A message was left: thank the caller (in each language given) and hang up."""
    response = VoiceResponse()
    for each in languages:
        say(response, words("prompts.voice.voicemail_thanks", each), each)
    response.hangup()
    return response
