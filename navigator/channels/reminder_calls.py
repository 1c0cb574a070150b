"""Voice reminders: the TwiML a reminder call plays, its keypad, and its status callback.

The worker places the call (outbound.py); Twilio then fetches ``/<reminder id>`` and reads the
reminder in the patient's language, slowly. Keys, at every prompt, are those of
messages/reminder_keypad.yaml (today 1 confirms, 2 asks for a new time, 9 reads it again,
0 reaches a person; reminder_keypad.py). Words are read by the same understanding step and
conversation engine as on the navigator's line: a warning sign gets the advice and a
person, "stop calling me" opts the number out (as a texted STOP) and ends the call, "I
can't make it" is the same as pressing 2 and "yes, I'll be there" as pressing 1, "talk to
someone" puts the call through, and a question the navigator answers elsewhere gets its
answer (or becomes a question for a person, as on the line). Words it cannot read with
confidence count as silence (see Misses). The steps every call shares (speech, the way
to a person, the message, the apology) are the call kit's (call_kit.py), so this call and
the navigator's line behave the same there. The status callback sends the same reminder
as a text when nobody answered, the line was busy or the call failed. Words come from
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
    that becomes a ``voicemail`` alert naming the patient and the appointment. When the line
    rang out, a call-back item is left at once, as on the navigator's line. The routes are
    here, not in voice.py, because on a call we placed Twilio's ``From`` is our own number:
    voice.py knows its callers by ``From``, this module by the reminder in the URL.

A cancelled or finished appointment
    A key press never brings it back (``replies.closed``): the patient hears that the visit
    was cancelled (or is over), the number to call, and that 0 reaches a person.

Every handler checks Twilio's signature and answers with TwiML, even when it fails.

Sample status callback (form fields Twilio posts, abridged)::

    CallSid=CA0f2b...&CallStatus=no-answer&To=%2B16175550143&From=%2B12025550100
    &AccountSid=AC...&ApiVersion=2010-04-01&Direction=outbound-api
"""

from __future__ import annotations

from flask import Blueprint, request, url_for
from twilio.twiml.voice_response import VoiceResponse

from .. import alerts, opt_outs
from ..catalog import catalog
from ..core.engine import Facts, Outcome, Show, engine_for
from ..core.engine import Say as SayKey
from ..core.menus import Position
from ..core.understanding import NEAR_MISS
from ..extensions import csrf, db
from ..models import Reminder, utcnow
from ..patients.enrolment import contact_for, patient_for
from ..reminders import keypad as reminder_keypad
from ..reminders import wording, worker
from ..telephony import delivery
from ..telephony.twiml import webhook, xml
from . import call_kit, outcomes, reminder_replies
from .call_kit import MISSES_BEFORE_PERSON, say

bp = Blueprint("reminder_calls", __name__, url_prefix="/twilio/reminder-call")
csrf.exempt(bp)

#: Intents read from a caller's words that are too vague to act on in a reminder call: an
#: answering machine's greeting must not become an inbox item (see Misses).
VAGUE = (NEAR_MISS, "other", "definition")


def _words(key: str, language: str) -> str:
    return call_kit.words(key, language)


def apology() -> VoiceResponse:
    """Said when a handler fails; no database (the failure may be the database)."""
    return call_kit.apology("reminders.voice.apology")


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
    return call_kit.end_call(language, [*said, _words(key, language)])


def _keypad(reminder: Reminder, miss: int, language: str):
    """Keys, and words: what a caller says is read as on the navigator's line (``_spoken``)."""
    return call_kit.gather(
        url_for(".answer", reminder_id=reminder.id, miss=miss or None), language, num_digits=1
    )


def _reading(
    reminder: Reminder,
    language: str,
    miss: int,
    lead: str | None = None,
    said: tuple[str, ...] = (),
):
    """The reminder (or what was ``said`` instead) and the keypad; silence comes back to
    ``play`` with one more miss."""
    response = VoiceResponse()
    gather = _keypad(reminder, miss, language)
    if lead:
        say(gather, call_kit.words(lead, language), language)
    for line in said or wording.voice_lines(reminder):
        say(gather, line, language)
    say(gather, reminder_keypad.menu(language), language)
    response.append(gather)
    say(response, _words("reminders.voice.no_input", language), language)
    response.redirect(url_for(".play", reminder_id=reminder.id, miss=miss + 1), method="POST")
    return response


def _closed(reminder: Reminder, language: str, reason: str) -> VoiceResponse:
    """The visit was cancelled or is over: say so, offer 0 for a person, change nothing."""
    response = VoiceResponse()
    gather = _keypad(reminder, 0, language)
    say(gather, _words(f"reminders.voice.{reason}", language), language)
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
    language = wording.language_for(reminder)
    reason = reminder_replies.closed(reminder.appointment)
    if reason:
        return xml(_closed(reminder, language, reason))
    miss = request.args.get("miss", default=0, type=int)
    if miss >= MISSES_BEFORE_PERSON:
        return xml(_text_instead(reminder, language))
    return xml(_reading(reminder, language, miss))


def _text_instead(reminder: Reminder, language: str) -> VoiceResponse:
    """Nobody pressed anything twice: the reminder follows as a text, as for a missed call.

    The reminder is treated as unanswered (``worker.record_delivery`` with no-answer
    adds the text rows the worker sends, with its opt-out and quiet-hour checks); the
    ``completed`` status callback that follows changes nothing more.
    """
    if opt_outs.opted_out(reminder.recipient_phone):
        return _goodbye(language)
    if reminder.provider_sid and reminder.status in ("sent", "sending"):
        worker.record_delivery(reminder.provider_sid, "no-answer")
        db.session.commit()
    return _goodbye(language, "reminders.voice.goodbye_text")


@bp.post("/<int:reminder_id>/answer")
@webhook(apology)
def answer(reminder_id: int):
    """A key (reminder_keypad.py: confirm, new time, repeat, a person) or spoken words.

    A second wrong key in a row connects to a person; a cancelled or finished visit is
    never changed by a key.
    """
    reminder = _reminder(reminder_id)
    if reminder is None:
        return xml(_goodbye("en"))
    language = wording.language_for(reminder)
    digit = request.form.get("Digits", "")
    miss = request.args.get("miss", default=0, type=int)
    speech = request.form.get("SpeechResult", "").strip()
    if speech and not digit:
        return xml(_spoken(reminder, language, speech, miss))
    return xml(_pressed(reminder, language, reminder_keypad.action_for(digit), miss))


def _pressed(reminder: Reminder, language: str, action: str | None, miss: int) -> VoiceResponse:
    """Do what a key (or words that mean one) asks; ``None`` is a key that does nothing."""
    if action == "person":
        return _to_person(reminder, language)
    appointment = reminder.appointment
    reason = reminder_replies.closed(appointment)
    if reason:
        return _closed(reminder, language, reason)
    if action == "repeat":
        return _reading(reminder, language, 0)
    if action is None:
        if miss + 1 >= MISSES_BEFORE_PERSON:
            return _to_person(reminder, language, before="prompts.voice.no_match")
        return _reading(reminder, language, miss + 1, lead="prompts.voice.no_match")
    if action == "confirm":
        reminder_replies.confirm(appointment, "call", utcnow())
        key = "reminders.voice.confirmed"
    else:
        reminder_replies.request_new_time(appointment, "call", utcnow())
        key = "reminders.voice.reschedule"
    db.session.commit()
    return _goodbye(language, key)


def _spoken(reminder: Reminder, language: str, speech: str, miss: int) -> VoiceResponse:
    """Words said at a reminder's prompt, read by the same understanding step and decided by
    the same engine as on the navigator's line (conversation.py).

    A warning sign comes first, then a request to stop calling (the same as a texted STOP).
    Words about the visit count as its key ("I can't make it" is 2), asking for someone
    puts the call through (with a call-back item, as on the line), and a question the
    navigator answers gets its spoken answer before the keys are offered again. Words it
    cannot read with confidence count as silence, not as a wrong key: an answering
    machine's greeting is words too, and must end in a text, as silence does, rather than
    at the care team's line or in the inbox.
    """
    facts = Facts(language, language_chosen=True, enrolled=True)
    outcome = engine_for(catalog()).keypad(Position(), "", speech, facts)
    kinds = {effect.kind for effect in outcome.effects}
    if kinds & {"red_flag", "opt_out"}:
        return _urgent(reminder, language, speech, outcome)
    visit = outcome.effect("appointment_reply")
    if visit is not None and visit.detail in reminder_keypad.SPOKEN:
        return _pressed(reminder, language, reminder_keypad.SPOKEN[visit.detail], miss)
    if _asked_again(outcome, kinds):
        return _pressed(reminder, language, "repeat", miss)
    if "person" in kinds:
        _carry_out(reminder, outcome, speech, kinds)
        return _to_person(reminder, language)
    if _answered(outcome, kinds):
        replies_said = _carry_out(reminder, outcome, speech, kinds)
        said = tuple(
            call_kit.spoken_words(r.key, language, **r.values)
            for r in replies_said
            if isinstance(r, SayKey)
        )
        return _reading(reminder, language, miss + 1, said=said)
    reason = reminder_replies.closed(reminder.appointment)
    if reason:
        return _closed(reminder, language, reason)
    if miss + 1 >= MISSES_BEFORE_PERSON:
        return _text_instead(reminder, language)
    return _reading(reminder, language, miss + 1)


def _asked_again(outcome: Outcome, kinds: set[str]) -> bool:
    """ "Repeat that", "again" (the line's key 8: the same place again), or "when is my
    appointment" (the reminder is the answer)."""
    return "next_appointment" in kinds or (
        not outcome.effects and outcome.replies == [Show(Position())]
    )


def _answered(outcome: Outcome, kinds: set[str]) -> bool:
    """The engine answered a confident, specific reading (not a menu move or a guess)."""
    reading = outcome.reading
    return (
        reading is not None
        and reading.understood
        and reading.intent not in VAGUE
        and "review" not in kinds
        and any(isinstance(reply, SayKey) for reply in outcome.replies)
    )


def _carry_out(reminder: Reminder, outcome: Outcome, speech: str, kinds: set[str]) -> list:
    """The engine's effects, as the navigator's line carries them out; returns the replies.

    The caller's words are kept where a person must read them (a call-back or a question
    for a person), linked to the reminder's patient.
    """
    contact = contact_for(reminder.recipient_phone)
    patient = reminder.appointment.patient
    position = contact.menu_node, contact.menu_page  # the texts' place in the menu stays
    said = outcomes.keep_spoken_words(speech, kinds, contact.phone, patient.id)
    replies_said = outcomes.apply(
        outcome, contact, patient, now=utcnow(), channel="voice", inbound=said
    )
    contact.menu_node, contact.menu_page = position
    db.session.commit()
    return replies_said


def _urgent(reminder: Reminder, language: str, speech: str, outcome: Outcome) -> VoiceResponse:
    """A warning sign (advice, an alert with the visit, a person or 911) or "stop calling"."""
    flag, stop = outcome.effect("red_flag"), outcome.effect("opt_out")

    contact = contact_for(reminder.recipient_phone)
    if flag:
        appointment = reminder.appointment
        said = outcomes.keep_spoken_words(
            speech, {"red_flag"}, contact.phone, appointment.patient_id
        )
        alerts.raise_alert(
            "red_flag",
            contact,
            appointment.patient,
            appointment=appointment,
            detail=flag.detail,
            message=said,
        )
    if stop:
        patient = patient_for(reminder.recipient_phone)
        opt_outs.record_opt_out(contact, patient, now=utcnow(), channel="voice")
    db.session.commit()
    said = tuple(call_kit.words(r.key, language, **r.values) for r in outcome.replies)
    if outcome.effect("hang_up"):  # told to hang up and call 911: nothing may follow
        return call_kit.end_call(language, said)
    if flag:
        return _to_person(reminder, language, said=said)
    return _goodbye(language, said=said)


# -- a person (the call kit's steps, with this call's URLs) ----------------------------------


def _to_person(
    reminder: Reminder, language: str, before: str | None = None, said: tuple[str, ...] = ()
) -> VoiceResponse:
    """Connect to the care team's line; without one, take a message that becomes an alert."""
    response = VoiceResponse()
    for line in said:
        say(response, line, language)
    if before:
        say(response, call_kit.words(before, language), language)
    return call_kit.put_through(
        response,
        language,
        after_dial=url_for(".after_dial", reminder_id=reminder.id),
        recorded=url_for(".recorded", reminder_id=reminder.id),
        goodbye=_words("reminders.voice.goodbye", language),
    )


@bp.post("/<int:reminder_id>/after-dial")
@webhook(apology)
def after_dial(reminder_id: int):
    """When nobody at the care team answered: a call-back item, and a message instead of
    hanging up (call_kit.missed_transfer), as on the navigator's line."""
    reminder = _reminder(reminder_id)
    if reminder is None:
        return xml(_goodbye("en"))
    if call_kit.transfer_answered(request.form.get("DialCallStatus")):
        return xml(call_kit.hang_up())
    language = wording.language_for(reminder)
    response = call_kit.missed_transfer(
        language,
        contact_for(reminder.recipient_phone),
        reminder.appointment.patient,
        recorded=url_for(".recorded", reminder_id=reminder.id),
        goodbye=_words("reminders.voice.goodbye", language),
    )
    db.session.commit()
    return xml(response)


@bp.post("/<int:reminder_id>/recorded")
@webhook(apology)
def recorded(reminder_id: int):
    """A message left on a reminder call: an alert for the coordinators, with the visit.

    Sample payload: ``CallSid=CA...&To=%2B1617...&RecordingUrl=https://api.twilio.com/...
    &RecordingDuration=14&RecordingSid=RE...``. A retry of the same RecordingSid makes no
    second item.
    """
    reminder = _reminder(reminder_id)
    if reminder is None:
        return xml(_goodbye("en"))
    language = wording.language_for(reminder)
    appointment = reminder.appointment
    alerts.raise_alert(
        "voicemail",
        contact_for(reminder.recipient_phone),
        appointment.patient,
        appointment=appointment,
        detail="recorded message on a reminder call",
        recording_url=request.form.get("RecordingUrl") or None,
        source_sid=request.form.get("RecordingSid", "").strip() or None,
    )
    db.session.commit()
    return xml(call_kit.thanks_for_the_message([language]))


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
