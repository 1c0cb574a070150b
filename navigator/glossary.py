"""Answers to "what is HER2?": finds the term a message names, in either language."""

from __future__ import annotations

from .content import LANGUAGES, Catalog
from .matching import PhraseIndex


class Glossary:
    def __init__(self, catalog: Catalog):
        self.terms: dict[str, str] = {}  # phrase -> term id
        for language in LANGUAGES:
            for key, value in catalog.strings[language].items():
                if key.startswith("glossary.") and key.endswith(".words"):
                    term = key[len("glossary.") : -len(".words")]
                    for word in value:
                        self.terms.setdefault(word, term)
        self.index = PhraseIndex(self.terms)

    def lookup(self, text: str) -> str | None:
        """The term id the message asks about (the longest match wins), or None."""
        found = self.index.find(text)
        return self.terms[found[0].text] if found else None
