"""The call a coordinator starts from the app: their phone rings first, then the patient's.

``coordinator/patient_contact.py`` places the first leg (to the coordinator) through
``outbound``, with this webhook as its TwiML URL. When the coordinator answers, Twilio
posts here and gets a ``<Dial>`` to the patient, from the navigator's number, so the
patient sees a number they know. The patient's number is looked up from the call's row,
never carried in the URL. The words here are for the coordinator, not the patient.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app
from twilio.twiml.voice_response import VoiceResponse

from .. import opt_outs
from ..extensions import csrf, db
from ..models import Message, Patient, utcnow
from ..telephony.twiml import webhook, xml
from . import call_kit

bp = Blueprint("coordinator_calls", __name__, url_prefix="/twilio/coordinator-call")
csrf.exempt(bp)

#: A first leg answered later than this after it was placed is not connected (a replay).
ANSWER_WITHIN = timedelta(minutes=10)
#: ``Message.content_key`` of the first leg (set by coordinator/patient_contact.py).
CALL_KEY = "coordinator.call"


def _apology() -> VoiceResponse:
    response = VoiceResponse()
    call_kit.say(
        response,
        "Sorry, the patient could not be connected. Please call from your own phone.",
        "en",
    )
    response.hangup()
    return response


@bp.post("/<int:message_id>")
@webhook(_apology)
def connect(message_id: int):
    """The coordinator answered: connect the patient, unless they opted out since.

    Sample payload: ``CallSid=CA...&CallStatus=in-progress&To=%2B1617...`` (To: the
    coordinator's phone).
    """
    leg = db.session.get(Message, message_id)
    if leg is None or leg.content_key != CALL_KEY or leg.patient_id is None:
        return xml(_apology())
    if utcnow() - leg.created_at > ANSWER_WITHIN:
        return xml(_apology())
    patient = db.session.get(Patient, leg.patient_id)
    response = VoiceResponse()
    if opt_outs.opted_out(patient.phone):
        call_kit.say(response, "This patient opted out of calls from the navigator. Goodbye.", "en")
        response.hangup()
        return xml(response)
    leg.status = "connecting"
    leg.status_at = utcnow()
    db.session.commit()
    call_kit.say(response, "Connecting you to the patient now.", "en")
    response.dial(
        patient.phone,
        caller_id=current_app.config.get("TWILIO_PHONE_NUMBER") or None,
        timeout=30,
    )
    return xml(response)
