"""Phone numbers: parsed and stored in E.164, with ``phonenumbers`` doing the work."""

from __future__ import annotations

import re
from functools import cache, lru_cache

import phonenumbers

#: NANP numbers 555-0100 to 555-0199 in any area code: reserved for fiction, never assigned.
FICTIONAL = re.compile(r"\+1\d{3}55501\d{2}")


class InvalidPhone(ValueError):
    """The text is not a valid, dialable phone number."""


@lru_cache(maxsize=4096)  # every webhook parses its From; a number's parse never changes
def to_e164(text: str, region: str = "US") -> str:
    """Return ``text`` as an E.164 number (``+15551234567``).

    :raise InvalidPhone: it does not parse or is not a valid number.
    """
    try:
        number = phonenumbers.parse((text or "").strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(str(exc)) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


#: What a sender that is not a phone number may be stored as: a short code, an alphanumeric
#: sender id, a number in a range newer than phonenumbers' metadata.
SENDER_CHARACTERS = re.compile(r"[^0-9A-Za-z+]")


def sender(text: str) -> str | None:
    """Who sent an inbound text, as it is stored and answered: E.164 when it parses, else
    the sender exactly as Twilio gave it (letters, digits and + only, at most 20), so the
    text is still recorded, screened and answered. None when nothing is left."""
    try:
        return to_e164(text)
    except InvalidPhone:
        kept = SENDER_CHARACTERS.sub("", text or "")[:20]
        return kept or None


@cache
def for_humans(e164: str) -> str:
    """A number as people read it aloud or in a text: (555) 555-0100 at home, +44 ... abroad."""
    if not e164:
        return ""
    number = phonenumbers.parse(e164, None)
    if number.country_code == 1:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def masked(e164: str) -> str:
    """The last two digits only, for places where a number must be hinted at, never shown."""
    return "***" + e164[-2:] if e164 else ""


def is_fictional(e164: str | None) -> bool:
    """True for a number no phone answers: 555-0100 to 555-0199 in any North American area.

    Practice patients and the try-it panel's unknown callers use these, and nothing sent to
    one may leave for a real carrier (``outbound`` keeps it in the local outbox).
    """
    return bool(e164) and FICTIONAL.fullmatch(e164) is not None
