"""The opt-in confirmation as a phone call, for a patient who chose calls over texts.

Enrolment places the call through ``outbound`` (the outbox in the embedded mode) with this
webhook as its TwiML URL; when it is answered the patient hears, in their language, what
a texting patient reads in the confirmation text: the program, that calls will come, how
to stop them, and 911. The patient is found from the call's row, not from the URL.
"""

from __future__ import annotations

from flask import Blueprint
from twilio.twiml.voice_response import VoiceResponse

from ..catalog import catalog, site_values
from ..core.content import LANGUAGES
from ..extensions import csrf, db
from ..models import Message, Patient
from ..patients.consent import CALL_KEY
from ..telephony.twiml import webhook, xml
from .call_kit import say

bp = Blueprint("confirmation_calls", __name__, url_prefix="/twilio/confirmation-call")
csrf.exempt(bp)


def _words(language: str) -> str:
    return catalog().render(CALL_KEY, language, **site_values())


def _apology() -> VoiceResponse:
    """With the database down the language is unknown: both, then goodbye."""
    response = VoiceResponse()
    for language in LANGUAGES:
        say(response, _words(language), language)
    response.hangup()
    return response


@bp.post("/<int:message_id>")
@webhook(_apology)
def confirm(message_id: int):
    """The patient answered the confirmation call: tell them, then hang up.

    Sample payload: ``CallSid=CA...&CallStatus=in-progress&To=%2B1617...``.
    """
    call = db.session.get(Message, message_id)
    patient = db.session.get(Patient, call.patient_id) if call and call.patient_id else None
    if call is None or call.content_key != CALL_KEY or patient is None:
        return xml(_apology())
    response = VoiceResponse()
    say(response, _words(patient.language or "en"), patient.language or "en")
    response.hangup()
    return xml(response)
