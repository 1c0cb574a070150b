"""The red-flag screen: warning signs in what a patient writes or says.

It runs on every inbound text and every spoken answer before anything else, STOP
included, because a person in danger may also be angry at the messages. The rules and
their words (English and Spanish, both always checked) are content: messages/redflags.yaml
gives the order, most urgent first; messages/<lang>/redflags.yaml the words and replies.
A rule fires when, for any one of its entries, every group of words has a match.
When in doubt it escalates: the navigator never rules out an emergency.
"""

from __future__ import annotations

from dataclasses import dataclass

from .content import LANGUAGES, Catalog
from .matching import PhraseIndex


@dataclass(frozen=True)
class RedFlag:
    rule: str
    action: str  # 911 | 988 | care_team_now | care_team_today
    language: str  # the language whose words matched


class Screen:
    """Compiled once per content catalog; ``check`` is then cheap."""

    def __init__(self, catalog: Catalog):
        self.rules = [(rule["id"], str(rule["action"])) for rule in catalog.redflag_rules]
        self.entries: dict[tuple[str, str], list[list[list[str]]]] = {}
        words: set[str] = set()
        for language in LANGUAGES:
            for rule, _ in self.rules:
                entries = catalog.get(f"redflags.{rule}.match", language)
                self.entries[(rule, language)] = entries
                for entry in entries:
                    for group in entry:
                        words.update(group)
        self.index = PhraseIndex(words)

    def check(self, text: str, prefer: str = "en") -> RedFlag | None:
        """The most urgent rule ``text`` triggers, or None.

        ``prefer`` is the person's language, tried first so the reply matches it.
        """
        if not text or not text.strip():
            return None
        present = {phrase.text for phrase in self.index.find(text)}
        if not present:
            return None
        order = [prefer] + [lang for lang in LANGUAGES if lang != prefer]
        for rule, action in self.rules:
            for language in order:
                for entry in self.entries[(rule, language)]:
                    if all(any(word in present for word in group) for group in entry):
                        return RedFlag(rule, action, language)
        return None
