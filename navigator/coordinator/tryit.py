"""Try the navigator: text or call it as a patient would, from a phone-like panel.

Each press or text becomes the form Twilio would post, signed with the auth token
exactly as Twilio signs it, and is dispatched to the real ``/twilio/sms`` and
``/twilio/voice`` views. We dispatch with ``current_app.test_client()``: it runs the
request through the whole WSGI app (ProxyFix, signature check, error handling) in this
process, with its own app context and database session, without opening a socket to
ourselves (which a single-threaded server would deadlock on). The outer transaction is
committed first so the inner request never waits on our locks. The TwiML that comes
back is parsed and shown: message bodies, spoken prompts as text, and the Gather or
Redirect URL the next keypad press goes to.

Because the webhooks are real, what the panel does changes the caller's record. So the
known callers offered are practice patients only (``navigator.practice``: a fictional
number, consent recorded as "practice record, not a person"), made here in one click, and
everything sent to them, or to the unknown callers, stays in the local outbox.
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from twilio.request_validator import RequestValidator
from wtforms import SelectChoice

from ..audit.records import record
from ..core.content import LANGUAGES
from ..core.phones import for_humans, is_fictional
from ..extensions import db
from ..models import Patient, utcnow
from ..patients import practice
from ..patients.consent import send_opt_in
from ..patients.enrolment import contact_for
from ..patients.practice import UNKNOWN_CALLERS
from .blueprint import bp
from .forms import LANGUAGE_CHOICES, ConfirmForm, TryAsForm, TryCallForm, TryTextForm, options

SMS_PATH = "/twilio/sms"
VOICE_PATH = "/twilio/voice"
#: The transcript lives in the signed session cookie, so it is kept short.
TRANSCRIPT_BUDGET = 2500
MAX_REDIRECTS = 5


@dataclass
class Reply:
    """What one TwiML response means for the panel."""

    lines: list[tuple[str, str]] = field(default_factory=list)  # (kind, text)
    gather_url: str | None = None
    silence_url: str | None = None  # where Twilio goes when the caller says nothing
    record_url: str | None = None
    dial_url: str | None = None  # where Twilio posts when a <Dial> with an action ends
    redirect_url: str | None = None
    ended: bool = False


def _spoken(verb) -> str:
    """The words of a <Say>, including those inside SSML such as <prosody>."""
    return " ".join("".join(verb.itertext()).split())


def parse_twiml(xml_text: bytes | str, current_url: str) -> Reply:
    """Read a TwiML response: texts, spoken words, and where the call goes next."""
    reply = Reply()
    root = ET.fromstring(xml_text)
    for verb in root:
        tag = verb.tag
        if tag == "Message":
            body = verb.find("Body")
            reply.lines.append(
                ("text", "".join((body if body is not None else verb).itertext()).strip())
            )
        elif tag == "Say":
            reply.lines.append(("say", _spoken(verb)))
        elif tag == "Play":
            reply.lines.append(("note", "(plays a recording)"))
        elif tag == "Gather":
            for inner in verb:
                if inner.tag == "Say":
                    reply.lines.append(("say", _spoken(inner)))
                elif inner.tag == "Play":
                    reply.lines.append(("note", "(plays a recording)"))
            reply.gather_url = urljoin(current_url, verb.get("action") or current_url)
        elif tag == "Redirect":
            target = urljoin(current_url, (verb.text or "").strip() or current_url)
            if reply.gather_url:
                reply.silence_url = target
            else:
                reply.redirect_url = target
            break
        elif tag == "Record":
            reply.lines.append(("note", "(beep: the caller can now leave a voicemail)"))
            reply.record_url = urljoin(current_url, verb.get("action") or current_url)
            break
        elif tag == "Dial":
            reply.lines.append(
                (
                    "note",
                    "(connects the call to a person: " + "".join(verb.itertext()).strip() + ")",
                )
            )
            if verb.get("action"):
                reply.dial_url = urljoin(current_url, verb.get("action"))
            else:
                reply.ended = True
            break
        elif tag == "Hangup":
            reply.lines.append(("note", "(the navigator hangs up)"))
            reply.ended = True
            break
        elif tag == "Reject":
            reply.lines.append(("note", "(the call is rejected)"))
            reply.ended = True
            break
    return reply


def _base_url() -> str:
    return current_app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/")


def post_signed(url_or_path: str, params: dict) -> tuple[int, bytes, str]:
    """POST ``params`` to one of our webhooks, signed as Twilio signs; return status, body, URL."""
    base = _base_url()
    url = urljoin(base + "/", url_or_path)
    parts = urlsplit(url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    signed_url = base + target
    signature = RequestValidator(current_app.config["TWILIO_AUTH_TOKEN"]).compute_signature(
        signed_url, params
    )
    db.session.commit()  # end our transaction so the inner request never waits on it
    response = current_app.test_client().post(
        target, data=params, base_url=request.host_url, headers={"X-Twilio-Signature": signature}
    )
    return response.status_code, response.get_data(), signed_url


def _state() -> dict:
    state = session.get("tryit") or {}
    state.setdefault("caller", "u:en")
    state.setdefault("log", [])
    state.setdefault("call", None)
    return state


def _save(state: dict) -> None:
    log = state["log"]
    while log and sum(len(e[1]) for e in log) > TRANSCRIPT_BUDGET:
        log.pop(0)
    session["tryit"] = state


def _practice_caller(state: dict) -> Patient | None:
    """The practice patient the panel is texting as, if any (never a real patient)."""
    kind, _, value = state["caller"].partition(":")
    if kind == "p" and value.isdigit():
        patient = db.session.get(Patient, int(value))
        if practice.is_practice(patient):
            return patient
    return None


def _caller_phone(state: dict) -> tuple[str, str]:
    """The caller's number and how to name them (ids only: the name goes to the audit log)."""
    patient = _practice_caller(state)
    if patient is not None:
        return patient.phone, f"practice patient #{patient.id}"
    _, _, value = state["caller"].partition(":")
    language = value if value in UNKNOWN_CALLERS else "en"
    return UNKNOWN_CALLERS[language], f"unknown caller ({dict(LANGUAGE_CHOICES)[language]})"


def _account_sid() -> str:
    return current_app.config.get("TWILIO_ACCOUNT_SID") or "AC" + "0" * 32


def _show(state: dict, status: int, body: bytes, url: str) -> Reply | None:
    if status != 200:
        state["log"].append(("error", f"The webhook answered {status}."))
        return None
    try:
        reply = parse_twiml(body, url)
    except ET.ParseError:
        state["log"].append(("error", "The webhook did not answer with valid TwiML."))
        return None
    state["log"].extend(reply.lines)
    return reply


def _voice(state: dict, url: str, extra: dict) -> None:
    """Post one step of the call and follow Redirects as Twilio would."""
    call = state["call"]
    phone, _ = _caller_phone(state)
    for _ in range(MAX_REDIRECTS):
        params = {
            "From": phone,
            "To": current_app.config["TWILIO_PHONE_NUMBER"],
            "CallSid": call["sid"],
            "AccountSid": _account_sid(),
            "Direction": "inbound",
            "CallStatus": "in-progress",
            **extra,
        }
        status, body, signed = post_signed(url, params)
        reply = _show(state, status, body, signed)
        if reply is None or reply.ended:
            state["call"] = None
            return
        if reply.redirect_url:
            url, extra = reply.redirect_url, {}
            continue
        call.update(
            gather=reply.gather_url,
            silence=reply.silence_url,
            record=reply.record_url,
            dial=reply.dial_url,
        )
        if not (reply.gather_url or reply.record_url or reply.dial_url):
            state["log"].append(("note", "(the call ends)"))
            state["call"] = None
        return
    state["log"].append(("error", "Too many redirects in a row; the call was ended."))
    state["call"] = None


def _caller_choices() -> list[SelectChoice]:
    """The unknown callers, then every practice patient; real patients are never offered."""
    choices = [(f"u:{code}", f"Unknown caller, {label}") for code, label in LANGUAGE_CHOICES]
    for patient in practice.practice_patients():
        choices.append((f"p:{patient.id}", f"{patient.name} ({for_humans(patient.phone)})"))
    return options(choices)


@bp.app_template_test("practice")
def practice_number(phone: str | None) -> bool:
    """A practice patient's or try-it caller's number: `{% if p.phone is practice %}`."""
    return is_fictional(phone)


def _page(text_form: TryTextForm | None = None, status: int = 200):
    """The panel, with a rejected text's error next to its field when there is one."""
    state = _state()
    as_form = TryAsForm(caller=state["caller"])
    as_form.caller.choices = _caller_choices()
    _, who = _caller_phone(state)
    return render_template(
        "coordinator/tryit.html",
        state=state,
        as_form=as_form,
        text_form=text_form or TryTextForm(formdata=None),
        call_form=TryCallForm(formdata=None),
        make_form=ConfirmForm(formdata=None),
        who=who,
        caller=_practice_caller(state),
        practice=practice,
        languages=dict(LANGUAGE_CHOICES),
        keys="123456789*0#",
    ), status


@bp.get("/try")
def tryit():
    """The phone-like panel."""
    return _page()


@bp.post("/try/practice")
def tryit_practice():
    """Make a practice patient in one click, and text or call as them from now on.

    Audited (who, when) like an enrolment; its opt-in confirmation goes to the outbox.
    """
    form = ConfirmForm()
    language = request.form.get("language", "")
    if not form.validate_on_submit() or language not in LANGUAGES:
        flash("Choose English or Spanish for the practice patient.", "error")
        return redirect(url_for("coordinator.tryit"))
    try:
        patient = practice.create(language, current_user.email, utcnow())
    except practice.PracticeError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("coordinator.tryit"))
    record("create_practice_patient", "patient", patient.id, f"practice patient, {language}")
    db.session.commit()
    # The opt-in confirmation an enrolled patient gets; a fictional number keeps it in the outbox.
    send_opt_in(patient)
    _save({"caller": f"p:{patient.id}", "log": [], "call": None})
    flash(f"Made {patient.name}. You now text and call as them.", "success")
    return redirect(url_for("coordinator.tryit"))


@bp.post("/try/as")
def tryit_as():
    form = TryAsForm()
    form.caller.choices = _caller_choices()
    if not form.validate_on_submit() or form.caller.data not in {
        c.value for c in form.caller.choices
    }:
        flash("Choose who to text or call as from the list.", "error")
        return redirect(url_for("coordinator.tryit"))
    state = {"caller": form.caller.data, "log": [], "call": None}
    kind, _, language = form.caller.data.partition(":")
    if kind == "u":
        # The unknown caller's language is set as if they had chosen it in the menu.
        contact = contact_for(UNKNOWN_CALLERS[language])
        contact.language, contact.language_chosen = language, True
        contact.menu_node, contact.menu_page = "main", 0
    record("try_as", "tryit", None, _caller_phone(state)[1])
    db.session.commit()
    _save(state)
    return redirect(url_for("coordinator.tryit"))


@bp.post("/try/text")
def tryit_text():
    form = TryTextForm()
    state = _state()
    if not form.validate_on_submit():
        return _page(text_form=form, status=422)
    phone, who = _caller_phone(state)
    record("try_text", "tryit", None, who)
    state["log"].append(("you", form.body.data))
    params = {
        "From": phone,
        "To": current_app.config["TWILIO_PHONE_NUMBER"],
        "Body": form.body.data,
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": _account_sid(),
        "NumMedia": "0",
        "NumSegments": "1",
    }
    status, body, signed = post_signed(SMS_PATH, params)
    reply = _show(state, status, body, signed)
    if reply is not None and not reply.lines:
        state["log"].append(("note", "(no reply text)"))
    _save(state)
    return redirect(url_for("coordinator.tryit") + "#panel")


@bp.post("/try/call")
def tryit_call():
    form = TryCallForm()
    state = _state()
    if not form.validate_on_submit():
        return redirect(url_for("coordinator.tryit"))
    action = request.form.get("action", "")
    call = state.get("call")
    if action == "start" or call is None:
        _, who = _caller_phone(state)
        record("try_call", "tryit", None, who)
        state["call"] = {"sid": "CA" + secrets.token_hex(16)}
        state["log"].append(("note", "(you call the navigator)"))
        _voice(state, VOICE_PATH, {})
    elif action == "hangup":
        state["log"].append(("note", "(you hang up)"))
        state["call"] = None
    elif action == "silence":
        state["log"].append(("you", "(says nothing)"))
        target = call.get("silence") or call.get("gather")
        _voice(state, target, {})
    elif action in ("dial-answered", "dial-missed") and call.get("dial"):
        answered = action == "dial-answered"
        state["log"].append(
            ("note", "(the care team answers, then hangs up)" if answered else "(nobody answers)")
        )
        _voice(state, call["dial"], {"DialCallStatus": "completed" if answered else "no-answer"})
    elif action == "record" and call.get("record"):
        state["log"].append(("you", "(leaves a voicemail)"))
        _voice(
            state,
            call["record"],
            {
                "RecordingUrl": "https://example.invalid/try-it-recording",
                "RecordingSid": "RE" + secrets.token_hex(16),
                "RecordingDuration": "7",
            },
        )
    elif action == "speak" and (form.speech.data or "").strip() and call.get("gather"):
        state["log"].append(("you", f"“{form.speech.data.strip()}”"))
        _voice(
            state, call["gather"], {"SpeechResult": form.speech.data.strip(), "Confidence": "0.9"}
        )
    elif action.startswith("key:") and call.get("gather"):
        digits = "".join(ch for ch in action[4:] if ch in "0123456789*#")
        typed = "".join(ch for ch in request.form.get("digits", "") if ch in "0123456789*#")
        digits = digits or typed
        if digits:
            state["log"].append(("you", f"(presses {digits})"))
            _voice(state, call["gather"], {"Digits": digits})
    _save(state)
    return redirect(url_for("coordinator.tryit") + "#panel")
