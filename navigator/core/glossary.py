"""Answers to "what is HER2?": finds the term a message names, in either language."""

from __future__ import annotations

from .content import LANGUAGES, Catalog
from .matching import PhraseIndex


class Glossary:
    def __init__(self, catalog: Catalog):
        self.terms: dict[str, str] = {}  # phrase -> term id
        self.languages: dict[str, set[str]] = {}  # phrase -> the languages that list it
        for language in LANGUAGES:
            for key, value in catalog.strings[language].items():
                if key.startswith("glossary.") and key.endswith(".words"):
                    term = key[len("glossary.") : -len(".words")]
                    for word in value:
                        self.terms.setdefault(word, term)
                        self.languages.setdefault(word, set()).add(language)
        self.index = PhraseIndex(self.terms)

    def lookup(self, text: str) -> str | None:
        """The term id the message asks about (the longest match wins), or None."""
        found = self.find(text)
        return found[0] if found else None

    def find(self, text: str) -> tuple[str, str | None] | None:
        """The term asked about, and the language of the words used for it when only one
        language has them ("biopsia" is Spanish; "HER2" is both, so None).

        Typos are forgiven, so "metastatic" also matches the Spanish "metastatico": every
        phrase found for the term counts, and then neither language is sure.
        """
        found = self.index.find(text)
        if not found:
            return None
        term = self.terms[found[0].text]
        languages = set().union(
            *(self.languages[p.text] for p in found if self.terms[p.text] == term)
        )
        return term, next(iter(languages)) if len(languages) == 1 else None
