"""Voice reminders: the TwiML a reminder call plays, its keypad, and its status callback.

The worker places the call (outbound.py); Twilio then fetches ``/<reminder id>`` and reads the
reminder in the patient's language, slowly, and takes 1 (confirm), 2 (new time) or 9 (hear it
again). The status callback sends the same reminder as a text when nobody answered, the line
was busy or the call failed. Words and voice settings come from messages/<lang>/reminders.yaml.

Every handler checks Twilio's signature and answers with TwiML, even when it fails.

Sample status callback (form fields Twilio posts, abridged)::

    CallSid=CA0f2b...&CallStatus=no-answer&To=%2B16175550143&From=%2B12025550100
    &AccountSid=AC...&ApiVersion=2010-04-01&Direction=outbound-api
"""

from __future__ import annotations

from flask import Blueprint, current_app, request, url_for
from twilio.twiml.voice_response import Gather, Say, VoiceResponse

from . import delivery, reminders, replies
from .content import LANGUAGES, catalog
from .extensions import csrf, db
from .models import Reminder, utcnow
from .phones import for_humans
from .twiml import webhook, xml

bp = Blueprint("reminder_calls", __name__, url_prefix="/twilio/reminder-call")
csrf.exempt(bp)

MAX_TRIES = 2


def _contact() -> str:
    config = current_app.config
    return for_humans(config.get("CARE_TEAM_PHONE") or config["TWILIO_PHONE_NUMBER"])


def _say(language: str, line: str) -> Say:
    text = catalog()
    say = Say(
        voice=text.render("reminders.voice.settings.voice", language),
        language=text.render("reminders.voice.settings.language", language),
    )
    say.prosody(line, rate=text.render("reminders.voice.settings.rate", language))
    return say


def apology() -> VoiceResponse:
    """Said when a handler fails; no database (the failure may be the database)."""
    response = VoiceResponse()
    for language in LANGUAGES:
        response.append(
            _say(
                language, catalog().render("reminders.voice.apology", language, contact=_contact())
            )
        )
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


def _goodbye(language: str) -> VoiceResponse:
    response = VoiceResponse()
    response.append(
        _say(language, catalog().render("reminders.voice.goodbye", language, contact=_contact()))
    )
    response.hangup()
    return response


@bp.post("/<int:reminder_id>")
@webhook(apology)
def play(reminder_id: int):
    """Read the reminder, then wait for 1, 2 or 9. Silence repeats it once, then says goodbye."""
    reminder = _reminder(reminder_id)
    if reminder is None:
        return xml(_goodbye("en"))
    language = reminders.language_for(reminder)
    tries = request.args.get("tries", default=0, type=int)
    if tries >= MAX_TRIES:
        return xml(_goodbye(language))
    response = VoiceResponse()
    gather = Gather(num_digits=1, timeout=8, action=url_for(".answer", reminder_id=reminder.id))
    for line in reminders.voice_lines(reminder):
        gather.append(_say(language, line))
    gather.append(_say(language, catalog().render("reminders.voice.menu", language)))
    response.append(gather)
    response.append(_say(language, catalog().render("reminders.voice.no_input", language)))
    response.redirect(url_for(".play", reminder_id=reminder.id, tries=tries + 1))
    return xml(response)


@bp.post("/<int:reminder_id>/answer")
@webhook(apology)
def answer(reminder_id: int):
    """1 confirms, 2 asks for a new time (and alerts a coordinator), 9 repeats."""
    reminder = _reminder(reminder_id)
    if reminder is None:
        return xml(_goodbye("en"))
    language = reminders.language_for(reminder)
    digit = request.form.get("Digits", "")
    appointment = reminder.appointment
    response = VoiceResponse()
    if digit == "1":
        replies.confirm(appointment)
        key = "reminders.voice.confirmed"
    elif digit == "2":
        replies.request_new_time(appointment, "call")
        key = "reminders.voice.reschedule"
    else:
        response.redirect(url_for(".play", reminder_id=reminder.id))
        return xml(response)
    db.session.commit()
    response.append(_say(language, catalog().render(key, language)))
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
