"""The only code that talks to Twilio's REST API, or, without an account, to the local outbox.

Every outbound text and call becomes a ``Message`` row. With ``TWILIO_ACCOUNT_SID`` set, the
official SDK sends it; with ``TWILIO_API_URL`` also set, the SDK's requests go to that base
URL instead of api.twilio.com (a local fake in tests, demos and the benchmark). Without an
account (the embedded default) the row itself is the delivery: ``transport='outbox'``, listed
by ``flask --app wsgi outbox``.

Sending is split in two so the reminder worker can record what it is about to send before the
network call (see ``reminders/worker.py`` on why): ``prepare_*`` adds the row, ``deliver`` hands it to
Twilio and fills in the SID. ``send_sms`` and ``place_call`` do both, for everyone else.

Nothing here commits, logs a message body, or decides whether a person may be contacted.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import requests
from flask import current_app
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import NewConnectionError

from .. import timefmt
from ..core.phones import is_fictional
from ..extensions import db
from ..models import Message, utcnow

log = logging.getLogger(__name__)

#: Twilio codes that will never succeed on a retry, whatever the HTTP status says.
PERMANENT_CODES = frozenset({21211, 21408, 21610, 21612, 21614, 21217, 21215})

#: How far the provider's clock may disagree with ours when looking for an in-doubt send.
CLOCK_SKEW = timedelta(minutes=2)


class SendError(Exception):
    """Twilio (or the network) refused a message or call.

    ``permanent`` is True when retrying cannot help (unsubscribed, invalid or landline
    number, any other 4xx except 429); network errors, 5xx and 429 are temporary.
    ``in_doubt`` is True when the request may have reached Twilio and been accepted (the
    answer timed out or the connection broke after the request went): such a send must be
    looked up (``find_sent``) before it is tried again, or the patient may get it twice.
    """

    def __init__(
        self,
        reason: str,
        *,
        code: int | None = None,
        status: int | None = None,
        permanent: bool = False,
        in_doubt: bool = False,
    ):
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.status = status
        self.permanent = permanent
        self.in_doubt = in_doubt


class LocalApiHttpClient(TwilioHttpClient):
    """The SDK's own HTTP client, with every request sent to ``base_url`` instead.

    Only the scheme and host (plus any path prefix) change; the SDK's paths, form encoding
    and authentication stay exactly as they would be for api.twilio.com.
    """

    def __init__(self, base_url: str, pool_size: int = 32, timeout: float = 15.0):
        super().__init__(pool_connections=True, timeout=timeout)
        self.base = urlsplit(base_url)
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        prefix = self.base.path.rstrip("/")
        url = urlunsplit((self.base.scheme, self.base.netloc, prefix + parts.path, parts.query, ""))
        return super().request(method, url, *args, **kwargs)


def uses_outbox() -> bool:
    """True in the embedded mode: no Twilio account, messages stay in the local outbox."""
    return not current_app.config.get("TWILIO_ACCOUNT_SID")


def transport_for(to: str) -> str:
    """Where a text or call to ``to`` goes: ``outbox`` in the embedded mode, and always for a
    fictional number (practice patients, the try-it panel's unknown callers), so trying the
    navigator never reaches a carrier even with a Twilio account; ``twilio`` otherwise."""
    return "outbox" if uses_outbox() or is_fictional(to) else "twilio"


def public_url(path: str) -> str:
    """An absolute URL Twilio can call back, built from ``PUBLIC_BASE_URL``."""
    base = current_app.config.get("PUBLIC_BASE_URL") or "http://localhost"
    return base.rstrip("/") + path


_local = threading.local()


def client() -> Client:
    """A Twilio client for this thread (requests sessions are not shared between threads)."""
    config = current_app.config
    timeout = float(config["TWILIO_TIMEOUT_SECONDS"])
    key = (
        config["TWILIO_ACCOUNT_SID"],
        config["TWILIO_AUTH_TOKEN"],
        config.get("TWILIO_API_URL"),
        timeout,
    )
    cached = getattr(_local, "clients", None)
    if cached is None:
        cached = _local.clients = {}
    if key not in cached:
        if key[2]:
            http_client = LocalApiHttpClient(key[2], timeout=timeout)
        else:
            http_client = TwilioHttpClient(timeout=timeout)
        cached[key] = Client(key[0], key[1], http_client=http_client)
    return cached[key]


def warm() -> None:
    """Build this thread's client and load the SDK's message and call modules ahead of use."""
    if not uses_outbox():
        twilio = client()
        twilio.api.v2010.account.messages  # noqa: B018 - the SDK imports these lazily
        twilio.api.v2010.account.calls  # noqa: B018


def _from_number() -> str:
    return current_app.config["TWILIO_PHONE_NUMBER"]


def _error(exc: Exception) -> SendError:
    if isinstance(exc, TwilioRestException):
        status = exc.status
        code = exc.code
        temporary = status == 429 or status >= 500
        permanent = code in PERMANENT_CODES or not temporary
        return SendError(f"twilio {status} {code}", code=code, status=status, permanent=permanent)
    if isinstance(exc, requests.RequestException):
        return SendError(f"network: {type(exc).__name__}", in_doubt=not _never_left(exc))
    return SendError(f"twilio client: {type(exc).__name__}")


def _never_left(exc: requests.RequestException) -> bool:
    """True when the request surely never reached Twilio: no connection was made.

    Anything else (a read timeout, a connection closed while waiting for the answer) may
    have happened after Twilio accepted the request, so it is treated as in doubt.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


def prepare_sms(
    to: str,
    body: str,
    *,
    patient_id: int | None = None,
    content_key: str | None = None,
    reminder_id: int | None = None,
) -> Message:
    """Add the row for a text about to be sent (status ``sending``, no SID yet); flushes."""
    message = Message(
        direction="out",
        channel="sms",
        phone=to,
        body=body,
        patient_id=patient_id,
        content_key=content_key,
        reminder_id=reminder_id,
        status="sending",
        transport=transport_for(to),
    )
    db.session.add(message)
    db.session.flush()
    return message


def prepare_call(
    to: str, *, patient_id: int | None = None, reminder_id: int | None = None
) -> Message:
    """Add the row for a call about to be placed; flushes."""
    message = Message(
        direction="out",
        channel="voice",
        phone=to,
        body="",
        patient_id=patient_id,
        reminder_id=reminder_id,
        status="sending",
        transport=transport_for(to),
    )
    db.session.add(message)
    db.session.flush()
    return message


def request_twilio(
    kind: str, to: str, body: str, *, url: str | None = None, status_callback: str | None = None
) -> tuple[str, str]:
    """One REST call, no database: returns (sid, status). Safe to run in a worker thread.

    Must run inside an app context. :raise SendError: Twilio or the network refused it.
    """
    try:
        if kind == "sms":
            extra = {"status_callback": status_callback} if status_callback else {}
            result = client().messages.create(to=to, from_=_from_number(), body=body, **extra)
        else:
            extra = {}
            if status_callback:
                extra = {"status_callback": status_callback, "status_callback_event": ["completed"]}
            result = client().calls.create(to=to, from_=_from_number(), url=url, **extra)
    except (TwilioException, requests.RequestException) as exc:
        raise _error(exc) from exc
    return result.sid, result.status or "queued"


def outbox_sid(kind: str) -> str:
    """A SID-shaped id for a message kept in the local outbox."""
    return ("OS" if kind == "sms" else "OC") + uuid.uuid4().hex


def record_result(
    message: Message, sid: str | None, status: str, error: SendError | None = None
) -> Message:
    """Write what Twilio answered onto the row (the caller commits)."""
    message.provider_sid = sid
    message.status = status
    message.status_at = utcnow()
    if error is not None:
        message.error_code = str(error.code) if error.code else (str(error.status or "") or None)
    return message


def deliver(
    message: Message, *, url: str | None = None, status_callback: str | None = None
) -> Message:
    """Hand a prepared row to Twilio (or the outbox) and record the SID; flushes.

    :raise SendError: the row is marked failed first.
    """
    if message.transport == "outbox":
        record_result(message, outbox_sid(message.channel), "queued")
    else:
        try:
            sid, status = request_twilio(
                message.channel,
                message.phone,
                message.body,
                url=url,
                status_callback=status_callback,
            )
        except SendError as exc:
            record_result(message, None, "failed", exc)
            db.session.flush()
            log.warning(
                "send failed message=%s code=%s status=%s permanent=%s",
                message.id,
                exc.code,
                exc.status,
                exc.permanent,
            )
            raise
        record_result(message, sid, status)
    db.session.flush()
    return message


def send_sms(
    to: str,
    body: str,
    *,
    patient_id: int | None = None,
    content_key: str | None = None,
    reminder_id: int | None = None,
) -> Message:
    """Send a text now. Adds and flushes the Message row; the caller commits.

    :raise SendError: Twilio or the network refused it (the row stays, marked failed).
    """
    message = prepare_sms(
        to, body, patient_id=patient_id, content_key=content_key, reminder_id=reminder_id
    )
    callback = None if message.transport == "outbox" else public_url("/twilio/status")
    return deliver(message, status_callback=callback)


def place_call(
    to: str,
    url: str,
    *,
    patient_id: int | None = None,
    reminder_id: int | None = None,
    status_callback: str | None = None,
) -> Message:
    """Place a call whose TwiML Twilio fetches from ``url``; the caller commits.

    :raise SendError: Twilio or the network refused it (the row stays, marked failed).
    """
    message = prepare_call(to, patient_id=patient_id, reminder_id=reminder_id)
    return deliver(message, url=url, status_callback=status_callback)


#: The most recent sends to one number that an in-doubt lookup reads (one page).
LOOKUP_LIMIT = 50


def _same_number(reported: str | None, phone: str) -> bool:
    return (reported or "").replace(" ", "") == phone


def find_sent(message: Message) -> str | None:
    """The SID Twilio gave a send we are unsure of, or None if Twilio never took it.

    Used after a worker died between asking Twilio and recording the answer. Twilio has no
    idempotency key for Messages or Calls, so we ask for the latest it has from our number
    to that number, keep those created since the row was written, and match on the body
    (texts) or take the earliest call, skipping SIDs we already know. The list is not
    filtered by DateSent or StartTime: a text or call still in Twilio's queue has neither,
    and would be missed, then sent twice.

    :raise SendError: the lookup itself failed; the caller must not resend yet.
    """
    if message.transport == "outbox":
        return None
    since = message.created_at - CLOCK_SKEW
    known = set(
        db.session.scalars(
            db.select(Message.provider_sid).where(
                Message.phone == message.phone, Message.provider_sid.is_not(None)
            )
        )
    )
    sender = _from_number()
    try:
        # One page, one request: the lookup is bounded whatever the account's history.
        if message.channel == "sms":
            found = client().messages.list(
                to=message.phone, from_=sender, limit=LOOKUP_LIMIT, page_size=LOOKUP_LIMIT
            )
            candidates = [m for m in found if m.body == message.body]
        else:
            candidates = client().calls.list(
                to=message.phone, from_=sender, limit=LOOKUP_LIMIT, page_size=LOOKUP_LIMIT
            )
    except (TwilioException, requests.RequestException) as exc:
        raise _error(exc) from exc
    # Never adopt another person's message: the answer is checked against the recipient.
    candidates = [m for m in candidates if _same_number(m.to, message.phone)]
    for item in sorted(candidates, key=lambda m: m.date_created or datetime(1, 1, 1, tzinfo=UTC)):
        created = item.date_created
        if item.sid in known:
            continue
        if created is not None and timefmt.to_utc(created) < since:
            continue
        return item.sid
    return None


# -- recordings ------------------------------------------------------------------------------

#: A recording's SID inside the RecordingUrl Twilio posted with a voicemail.
RECORDING_SID = re.compile(r"/Recordings/(RE[0-9a-fA-F]{32})(?:\.\w+)?$")


class RecordingUnavailable(Exception):
    """A voicemail's audio cannot be played; ``reason`` says why in words for a coordinator."""

    def __init__(self, reason: str, *, status: int = 502):
        super().__init__(reason)
        self.reason = reason
        self.status = status


def fetch_recording(recording_url: str | None) -> bytes:
    """The MP3 audio of a voicemail, fetched from Twilio with the account's credentials.

    Twilio keeps recordings behind HTTP authentication, so a coordinator's browser cannot
    open the RecordingUrl itself; the app fetches it for them. Only the recording's SID is
    taken from the stored URL: the request always goes to our own account's Recordings
    resource (at ``TWILIO_API_URL`` when set), never to a host the URL names. The SDK
    describes recordings but does not download their audio, so this is the plain
    authenticated GET on the media URL that Twilio documents, made with the SDK client's
    own credentials and timeout.

    :raise RecordingUnavailable: no Twilio account, no recording SID, or Twilio said no.
    """
    if uses_outbox():
        raise RecordingUnavailable(
            "Voicemails are kept by Twilio, and no Twilio account is set up here.", status=404
        )
    match = RECORDING_SID.search(recording_url or "")
    if match is None:
        raise RecordingUnavailable(
            "This voicemail has no recording (it was left in the try-it panel).", status=404
        )
    config = current_app.config
    account, token = config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"]
    base = (config.get("TWILIO_API_URL") or "https://api.twilio.com").rstrip("/")
    url = f"{base}/2010-04-01/Accounts/{account}/Recordings/{match.group(1)}.mp3"
    try:
        answer = requests.get(url, auth=(account, token), timeout=15)
    except requests.RequestException as exc:
        log.warning("recording fetch failed: %s", type(exc).__name__)
        raise RecordingUnavailable("Twilio could not be reached. Try again in a minute.") from None
    if answer.status_code == 404:
        raise RecordingUnavailable(
            "Twilio no longer has this recording (it may have been deleted).", status=404
        )
    if answer.status_code != 200:
        log.warning("recording fetch: Twilio answered %s", answer.status_code)
        raise RecordingUnavailable(
            f"Twilio did not give the recording (error "
            f"{answer.status_code}). Try again in a minute."
        )
    return answer.content
