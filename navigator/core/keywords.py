"""Carrier and command keywords: STOP, HELP, START, MENU, BACK, MORE, 0...

Carriers and CTIA expect these to work as the whole message, in any case. So "Para"
alone opts out, while "para que es la biopsia" is a question. Plain requests such as
"stop texting me" or "no me escriban" also opt out, as the FCC's revocation rule expects;
they are matched without typo tolerance, because wrongly stopping a patient's reminders
is worse than asking them to send STOP. The words are content (messages/keywords.yaml);
this module only decides which one a message is.
"""

from __future__ import annotations

import re

from .matching import PhraseIndex, normalize

WHOLE_MESSAGE_KEYWORDS = (
    "opt_out",
    "opt_in",
    "help",
    "menu",
    "back",
    "more",
    "person",
    "next",
    "spanish",
    "english",
    "confirm",
    "reschedule",
    "thanks",
)
_NUMBERED_REPLY = re.compile(r"^([a-z]+)\s*([1-9])$")


class Keywords:
    def __init__(self, keywords: dict):
        self.words: dict[str, set[str]] = {
            kind: {normalize(str(word)) for word in keywords.get(kind, [])}
            for kind in WHOLE_MESSAGE_KEYWORDS
        }
        self.opt_out_phrases = {
            language: PhraseIndex(phrases, typos=False)
            for language, phrases in (keywords.get("opt_out_phrases") or {}).items()
        }
        self.spanish_cues = {normalize(str(word)) for word in keywords.get("spanish_cues", [])}
        self.spoken = {
            kind: PhraseIndex(words) for kind, words in (keywords.get("spoken") or {}).items()
        }

    def kinds(self, text: str) -> set[str]:
        """Every keyword kind the whole message is (YES is both opt_in and confirm)."""
        plain = normalize(text)
        return {kind for kind, words in self.words.items() if plain in words}

    def numbered_reply(self, text: str) -> tuple[str, int] | None:
        """("confirm", 2) for "C2" or "C 2": a reply that picks one of several visits."""
        match = _NUMBERED_REPLY.match(normalize(text))
        if not match:
            return None
        for kind in ("confirm", "reschedule"):
            if match.group(1) in self.words[kind]:
                return kind, int(match.group(2))
        return None

    def looks_spanish(self, text: str) -> bool:
        """Whether the message has a common Spanish word ("que", "una", "tengo")."""
        return any(word in self.spanish_cues for word in normalize(text).split())

    def asks_to_stop(self, text: str) -> bool:
        return "opt_out" in self.kinds(text) or self.stop_request_language(text) is not None

    def stop_request_language(self, text: str) -> str | None:
        """The language of a plain request to stop ("no me escriban": es), or None."""
        longest: tuple[int, str | None] = (0, None)
        for language, index in self.opt_out_phrases.items():
            for phrase in index.find(text):
                longest = max(longest, (len(phrase.words), language))
        return longest[1]

    def spoken_kind(self, speech: str) -> str | None:
        """What a spoken answer asks for: repeat, back, person, text_me, english, spanish."""
        for kind, index in self.spoken.items():
            if index.find(speech):
                return kind
        return None
