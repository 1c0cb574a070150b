"""Voice reminders: the TwiML a reminder call plays, its keypad, and its status callback.

The worker places the call (outbound.py); Twilio then fetches ``/<reminder id>`` and reads the
reminder in the patient's language, slowly. Keys, at every prompt: 1 confirms, 2 asks for a
new time, 9 reads it again, 0 reaches a person. Words are heard too: a warning sign gets the
advice and a person, "stop calling me" opts the number out (as a texted STOP) and ends the
call; other words count as silence. Each ``<Gather>`` waits 10 seconds, as on the
navigator's own line (voice.py). The status callback sends the same reminder as a text when
nobody answered, the line was busy or the call failed. Words and voice settings come from
messages/<lang>/reminders.yaml and, for the way to a person, prompts.yaml.

Misses, and what a patient would expect of them
    Two misses in a row end the menu. When the second is a wrong key, someone is there and
    struggling: they are connected to a person, as on the navigator's own line. When it is
    silence, the reminder has been read twice to nobody, most often an answering machine or
    a phone set down: connecting that to the care team would only leave them a blank message
    and the patient nothing in writing. So the call ends politely and the reminder goes as a
    text instead, as for an unanswered call (not to a number that opted out of texts). A
    patient who is listening can press 0 at any moment.

A person
    ``<Dial>`` to ``CARE_TEAM_PHONE``; when none is set or nobody answers, a recorded message
    that becomes a ``voicemail`` alert naming the patient and the appointment. These steps
    live here, not in voice.py, because on a call we placed Twilio's ``From`` is our own
    number: voice.py knows its callers by ``From``, this module by the reminder in the URL.

A cancelled or finished appointment
    A key press never brings it back (``replies.closed``): the patient hears that the visit
    was cancelled (or is over), the number to call, and that 0 reaches a person.

Every handler checks Twilio's signature and answers with TwiML, even when it fails.

Sample status callback (form fields Twilio posts, abridged)::

    CallSid=CA0f2b...&CallStatus=no-answer&To=%2B16175550143&From=%2B12025550100
    &AccountSid=AC...&ApiVersion=2010-04-01&Direction=outbound-api
"""

from __future__ import annotations

from flask import Blueprint, current_app, request, url_for
from twilio.twiml.voice_response import Gather, Say, VoiceResponse

from .. import alerts, opt_outs
from ..catalog import catalog
from ..config import care_team_phone
from ..core.content import LANGUAGES
from ..core.engine import Facts, engine_for
from ..core.menus import Position
from ..core.phones import for_humans
from ..extensions import csrf, db
from ..models import Alert, Contact, Reminder, utcnow
from ..patients.enrolment import contact_for, patient_for
from ..reminders import worker as reminders
from ..telephony import delivery
from ..telephony.twiml import webhook, xml
from . import outcomes, reminder_replies
from .voice import GATHER_SECONDS, MISSES_BEFORE_PERSON, dial_care_team, take_message
from .voice import words as prompt

bp = Blueprint("reminder_calls", __name__, url_prefix="/twilio/reminder-call")
csrf.exempt(bp)


def _contact() -> str:
    config = current_app.config
    return for_humans(care_team_phone(config))


def _say(language: str, line: str) -> Say:
    text = catalog()
    say = Say(
        voice=text.render("reminders.voice.settings.voice", language),
        language=text.render("reminders.voice.settings.language", language),
    )
    say.prosody(line, rate=text.render("reminders.voice.settings.rate", language))
    return say


def _words(key: str, language: str) -> str:
    return catalog().render(key, language, contact=_contact())


def apology() -> VoiceResponse:
    """Said when a handler fails; no database (the failure may be the database)."""
    response = VoiceResponse()
    for language in LANGUAGES:
        response.append(_say(language, _words("reminders.voice.apology", language)))
    response.hangup()
    return response


def _reminder(reminder_id: int) -> Reminder | None:
    """The reminder this call is for, if the call really goes to its recipient."""
    reminder = db.session.get(Reminder, reminder_id)
    if reminder is None or reminder.channel != "voice":
        return None
    called = request.form.get("To") or request.form.get("Called")
    if called and called != reminder.recipient_phone:
        return None
    return reminder


def _goodbye(
    language: str, key: str = "reminders.voice.goodbye", said: tuple[str, ...] = ()
) -> VoiceResponse:
    response = VoiceResponse()
    for line in said:
        response.append(_say(language, line))
    response.append(_say(language, _words(key, language)))
    response.hangup()
    return response


def _keypad(reminder: Reminder, miss: int, language: str) -> Gather:
    """Keys, and words: a warning sign or "stop calling me" must be heard (see ``_spoken``)."""
    return Gather(
        input="dtmf speech",
        num_digits=1,
        timeout=GATHER_SECONDS,
        speech_timeout="auto",
        language=catalog().render("reminders.voice.settings.language", language),
        action=url_for(".answer", reminder_id=reminder.id, miss=miss or None),
        method="POST",
    )


def _reading(reminder: Reminder, language: str, miss: int, lead: str | None = None):
    """The reminder and its keypad menu; silence comes back to ``play`` with one more miss."""
    response = VoiceResponse()
    gather = _keypad(reminder, miss, language)
    if lead:
        gather.append(_say(language, prompt(lead, language)))
    for line in reminders.voice_lines(reminder):
        gather.append(_say(language, line))
    gather.append(_say(language, _words("reminders.voice.menu", language)))
    response.append(gather)
    response.append(_say(language, _words("reminders.voice.no_input", language)))
    response.redirect(url_for(".play", reminder_id=reminder.id, miss=miss + 1), method="POST")
    return response


def _closed(reminder: Reminder, language: str, reason: str) -> VoiceResponse:
    """The visit was cancelled or is over: say so, offer 0 for a person, change nothing."""
    response = VoiceResponse()
    gather = _keypad(reminder, 0, language)
    gather.append(_say(language, _words(f"reminders.voice.{reason}", language)))
    response.append(gather)
    response.hangup()
    return response


@bp.post("/<int:reminder_id>")
@webhook(apology)
def play(reminder_id: int):
    """Read the reminder, then wait for a key. Silence reads it once more; a second silence
    ends the call politely and sends the reminder as a text (see the module docstring)."""
    reminder = _reminder(reminder_id)
    if reminder is None:
        return xml(_goodbye("en"))
    language = reminders.language_for(reminder)
    reason = reminder_replies.closed(reminder.appointment)
    if reason:
        return xml(_closed(reminder, language, reason))
    miss = request.args.get("miss", default=0, type=int)
    if miss >= MISSES_BEFORE_PERSON:
        return xml(_text_instead(reminder, language))
    return xml(_reading(reminder, language, miss))


def _text_instead(reminder: Reminder, language: str) -> VoiceResponse:
    """Nobody pressed anything twice: the reminder follows as a text, as for a missed call.

    The reminder is treated as unanswered (``reminders.record_delivery`` with no-answer
    adds the text rows the worker sends, with its opt-out and quiet-hour checks); the
    ``completed`` status callback that follows changes nothing more.
    """
    contact = db.session.scalar(db.select(Contact).filter_by(phone=reminder.recipient_phone))
    if contact is not None and contact.opted_out:
        return _goodbye(language)
    if reminder.provider_sid and reminder.status in ("sent", "sending"):
        reminders.record_delivery(reminder.provider_sid, "no-answer")
        db.session.commit()
    return _goodbye(language, "reminders.voice.goodbye_text")


@bp.post("/<int:reminder_id>/answer")
@webhook(apology)
def answer(reminder_id: int):
    """1 confirms, 2 asks for a new time (and alerts a coordinator), 9 repeats, 0 a person.

    A second wrong key in a row connects to a person; a cancelled or finished visit is
    never changed by a key.
    """
    reminder = _reminder(reminder_id)
    if reminder is None:
        return xml(_goodbye("en"))
    language = reminders.language_for(reminder)
    digit = request.form.get("Digits", "")
    miss = request.args.get("miss", default=0, type=int)
    speech = request.form.get("SpeechResult", "").strip()
    if speech and not digit:
        return xml(_spoken(reminder, language, speech, miss))
    if digit == "0":
        return xml(_to_person(reminder, language))
    appointment = reminder.appointment
    reason = reminder_replies.closed(appointment)
    if reason:
        return xml(_closed(reminder, language, reason))
    if digit == "9":
        return xml(_reading(reminder, language, 0))
    if digit not in ("1", "2"):
        if miss + 1 >= MISSES_BEFORE_PERSON:
            return xml(_to_person(reminder, language, before="prompts.voice.no_match"))
        return xml(_reading(reminder, language, miss + 1, lead="prompts.voice.no_match"))
    if digit == "1":
        reminder_replies.confirm(appointment, "call", utcnow())
        key = "reminders.voice.confirmed"
    else:
        reminder_replies.request_new_time(appointment, "call", utcnow())
        key = "reminders.voice.reschedule"
    db.session.commit()
    return xml(_goodbye(language, key))


def _spoken(reminder: Reminder, language: str, speech: str, miss: int) -> VoiceResponse:
    """Words said at a reminder's prompt: warning signs first, then a request to stop calling.

    Both are judged by the same rules as on the navigator's own line (conversation.py), and
    a spoken opt-out is the same as a texted STOP. Other words count as silence, not as a
    wrong key: an answering machine's greeting is words too, and must end in a text, as
    silence does, rather than at the care team's line.
    """
    facts = Facts(language, language_chosen=True, enrolled=True)
    outcome = engine_for(catalog()).keypad(Position(), "", speech, facts)
    flag, stop = outcome.effect("red_flag"), outcome.effect("opt_out")
    if flag is None and stop is None:
        reason = reminder_replies.closed(reminder.appointment)
        if reason:
            return _closed(reminder, language, reason)
        if miss + 1 >= MISSES_BEFORE_PERSON:
            return _text_instead(reminder, language)
        return _reading(reminder, language, miss + 1)
    contact = contact_for(reminder.recipient_phone)
    if flag:
        appointment = reminder.appointment
        said = outcomes.keep_spoken_words(
            speech, {"red_flag"}, contact.phone, appointment.patient_id
        )
        alert = alerts.raise_alert(
            "red_flag", contact, appointment.patient, detail=flag.detail, message=said
        )
        alert.appointment_id = appointment.id
    if stop:
        patient = patient_for(reminder.recipient_phone)
        opt_outs.record_opt_out(contact, patient, now=utcnow(), channel="voice")
    db.session.commit()
    said = tuple(prompt(r.key, language, **r.values) for r in outcome.replies)
    if outcome.effect("hang_up"):  # told to hang up and call 911: nothing may follow
        response = VoiceResponse()
        for line in said:
            response.append(_say(language, line))
        response.hangup()
        return response
    if flag:
        return _to_person(reminder, language, said=said)
    return _goodbye(language, said=said)


# -- a person --------------------------------------------------------------------------------


def _to_person(
    reminder: Reminder, language: str, before: str | None = None, said: tuple[str, ...] = ()
) -> VoiceResponse:
    """Connect to the care team's line; without one, take a message that becomes an alert."""
    response = VoiceResponse()
    for line in said:
        response.append(_say(language, line))
    if before:
        response.append(_say(language, prompt(before, language)))
    care_team = current_app.config.get("CARE_TEAM_PHONE")
    if not care_team:
        return _voicemail(response, reminder, language)
    response.append(_say(language, prompt("prompts.voice.connecting", language)))
    dial_care_team(response, care_team, url_for(".after_dial", reminder_id=reminder.id))
    return response


def _voicemail(response: VoiceResponse, reminder: Reminder, language: str) -> VoiceResponse:
    response.append(_say(language, prompt("prompts.voice.voicemail", language)))
    take_message(response, url_for(".recorded", reminder_id=reminder.id))
    response.append(_say(language, _words("reminders.voice.goodbye", language)))
    return response


@bp.post("/<int:reminder_id>/after-dial")
@webhook(apology)
def after_dial(reminder_id: int):
    """When nobody at the care team answered, take a message instead of hanging up."""
    reminder = _reminder(reminder_id)
    if reminder is None:
        return xml(_goodbye("en"))
    response = VoiceResponse()
    if request.form.get("DialCallStatus") in ("completed", "answered"):
        response.hangup()
        return xml(response)
    return xml(_voicemail(response, reminder, reminders.language_for(reminder)))


@bp.post("/<int:reminder_id>/recorded")
@webhook(apology)
def recorded(reminder_id: int):
    """A message left on a reminder call: an alert for the coordinators, with the visit.

    Sample payload: ``CallSid=CA...&To=%2B1617...&RecordingUrl=https://api.twilio.com/...
    &RecordingDuration=14``.
    """
    reminder = _reminder(reminder_id)
    if reminder is None:
        return xml(_goodbye("en"))
    language = reminders.language_for(reminder)
    appointment = reminder.appointment
    db.session.add(
        Alert(
            kind="voicemail",
            phone=reminder.recipient_phone,
            patient_id=appointment.patient_id,
            appointment_id=appointment.id,
            detail="recorded message on a reminder call",
            recording_url=request.form.get("RecordingUrl") or None,
        )
    )
    db.session.commit()
    response = VoiceResponse()
    response.append(_say(language, prompt("prompts.voice.voicemail_thanks", language)))
    response.hangup()
    return xml(response)


@bp.post("/status")
@webhook(apology)
def status():
    """Twilio's call status callback: delivery state, and the SMS fallback for missed calls."""
    sid = request.form.get("CallSid", "")
    delivery.record(
        sid,
        request.form.get("CallStatus", "").strip().lower(),
        request.form.get("ErrorCode") or None,
        now=utcnow(),
    )
    db.session.commit()
    return xml(VoiceResponse())
