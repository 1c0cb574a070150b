"""Free text typed by coordinators, made safe to put inside a text message.

Our own wording (messages/) is checked by tests: English uses only the GSM-7 alphabet and
fits its segments. Text a coordinator types (a location, a site's preparation notes, a
patient's name) is not: one curly apostrophe, an accent GSM-7 lacks or an emoji turns a
whole English text into UCS-2, where a segment holds 70 characters instead of 160, and a
one-segment reminder becomes three. This module owns that clean-up and the lengths:

- ``for_language``: English gets GSM-7 only (curly quotes made straight, dashes made ``-``,
  accents GSM-7 lacks taken off, emoji and other symbols dropped); Spanish keeps its
  accents and loses only emoji and invisible characters.
- ``septets``: how much of a segment a GSM-7 text uses (``€``, ``[``... cost two).
- ``shorten``: a value cut to fit, at a comma or a word, never mid-word unless it must.
- ``split``: a long text as messages of at most a given length, cut between words.

It knows nothing of Twilio, Flask or the database.
"""

from __future__ import annotations

import re
import unicodedata

#: GSM 03.38 basic character set (one septet each), without the form feed and CR.
BASIC = (
    "@£$¥èéùìòÇ\nØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: The extension table: allowed, but each costs two septets.
EXTENSION = "^{}\\[~]|€"
_ALLOWED = frozenset(BASIC + EXTENSION)

#: Look-alikes people paste from word processors and phones, and what GSM-7 has instead.
_PLAIN = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4`", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2022\u00b7", "-"),
        **dict.fromkeys("\t\u00a0\u2002\u2003\u2007\u2009\u200a\u202f\u3000", " "),
        "\u2026": "...",
        "\u00d7": "x",
    }
)
#: Invisible characters: joiners, variation selectors (emoji presentation), BOM, soft hyphen.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufe00-\ufe0f\ufeff]")
_SPACES = re.compile(r" {2,}")
#: A space left before closing punctuation, where an emoji stood ("2nd floor 🏥." -> "floor .").
_LOOSE_PUNCTUATION = re.compile(r" +([.,;:!?])(?=\s|$)")
#: What a cut value ends with, so the reader knows there was more.
MORE = "..."


def _tidy(text: str) -> str:
    """Shared first step: one form of each letter, straight quotes, plain dashes and spaces."""
    text = unicodedata.normalize("NFC", text or "").replace("\r\n", "\n").replace("\r", "\n")
    return _INVISIBLE.sub("", text.translate(_PLAIN))


def _settle(text: str) -> str:
    """Runs of spaces left by dropped characters become one; no space at either end."""
    lines = [
        _LOOSE_PUNCTUATION.sub(r"\1", _SPACES.sub(" ", line)).strip() for line in text.split("\n")
    ]
    return "\n".join(lines).strip()


def to_gsm7(text: str) -> str:
    """``text`` with only GSM-7 characters, as close to what was typed as GSM-7 allows.

    Letters GSM-7 has (é, ñ, ü...) stay; others lose their accent (í -> i, ç -> c);
    what has no GSM-7 form at all (emoji, arrows, other scripts) is dropped.
    """
    kept = []
    for char in _tidy(text):
        if char in _ALLOWED:
            kept.append(char)
            continue
        if unicodedata.category(char) == "Cc":
            continue
        for part in unicodedata.normalize("NFKD", char):
            if part in _ALLOWED:
                kept.append(part)
    return _settle("".join(kept))


def for_spanish(text: str) -> str:
    """``text`` for a Spanish message: accents and ¿¡ stay; emoji and invisible marks go."""
    kept = [char for char in _tidy(text) if char == "\n" or not _symbol_or_hidden(char)]
    return _settle("".join(kept))


def _symbol_or_hidden(char: str) -> bool:
    category = unicodedata.category(char)
    if category == "Sk":  # skin-tone modifiers; ^ and ` are typed on purpose
        return ord(char) > 127
    return category in ("So", "Me", "Cc", "Cf", "Co", "Cs", "Cn")


def for_language(text: str, language: str) -> str:
    """Free text made safe for a message in ``language`` (see the module docstring)."""
    return for_spanish(text) if language == "es" else to_gsm7(text)


def septets(text: str) -> int:
    """How many of a GSM-7 segment's 160 septets ``text`` takes."""
    return sum(2 if char in EXTENSION else 1 for char in text)


def size(text: str, language: str) -> int:
    """The length that counts against a message's limit: septets in English, else characters."""
    return len(text) if language == "es" else septets(text)


def shorten(value: str, room: int, language: str = "en") -> str:
    """``value`` cut to at most ``room`` (see ``size``), keeping as much meaning as fits.

    First whole comma-separated parts are dropped from the end ("Mercy Imaging, 2100 Main
    St, Building C" -> "Mercy Imaging, 2100 Main St"); failing that, words, then letters,
    with ``...`` to show something was left out.
    """
    if size(value, language) <= room:
        return value
    parts = [part.strip() for part in value.split(",")]
    while len(parts) > 1:
        parts.pop()
        joined = ", ".join(parts)
        if size(joined, language) <= room:
            return joined
    if room <= len(MORE):
        return ""
    words = value.split()
    while len(words) > 1:
        words.pop()
        cut = " ".join(words).rstrip(",;:.-") + MORE
        if size(cut, language) <= room:
            return cut
    cut = value
    while cut and size(cut + MORE, language) > room:
        cut = cut[:-1]
    return cut.rstrip() + MORE if cut else ""


def split(text: str, limit: int) -> list[str]:
    """``text`` as messages of at most ``limit`` characters, each cut between words.

    A paragraph break is preferred, then a line break, then a space; only a single word
    longer than ``limit`` (a long web address) is cut inside.
    """
    messages = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator)
            if cut > limit // 2 or (cut > 0 and separator == " "):
                break
        if cut <= 0:
            cut = limit
        messages.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        messages.append(rest)
    return messages


def encoding(text: str) -> str:
    """``GSM-7`` when every character is in the GSM-7 alphabet, else ``UCS-2``.

    One á, í, ó or ú (GSM-7 has é, ñ, ü, ¿ and ¡ but not those) sends a whole Spanish text
    as UCS-2, where a segment holds 70 characters instead of 160.
    """
    return "GSM-7" if all(char in _ALLOWED or char == "\n" for char in text) else "UCS-2"


def segments(text: str) -> int:
    """How many SMS segments ``text`` is billed and delivered as, in the encoding it needs.

    A single segment holds 160 GSM-7 septets or 70 UCS-2 characters; a longer text is cut
    into parts of 153 septets or 67 characters (each part carries a joining header).
    """
    if encoding(text) == "GSM-7":
        size, single, part = septets(text), 160, 153
    else:
        size, single, part = len(text.encode("utf-16-le")) // 2, 70, 67
    return 1 if size <= single else -(-size // part)
