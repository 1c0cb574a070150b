"""Finding known words and phrases in what people type or say, forgiving typos.

Patients write on small keypads, tired and worried: "numbess", "her 2", "biopcy",
"espalda" without the accent. Every lookup here ignores case, accents and punctuation,
and accepts one typo in a word of 4 to 7 letters and two in longer words. Words of 3
letters or fewer must match exactly ("er", "ct", "pr" would otherwise match anything).
A pattern word ending in ``*`` matches any word that starts with it.

Lookups must stay fast (every inbound message is screened), so fuzzy matching uses a
deletion index (the SymSpell idea): candidate words are found by shared deletions and
only those are checked with a real edit distance.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

_NON_WORD = re.compile(r"[^a-z0-9*]+")


def normalize(text: str) -> str:
    """Lower case, no accents, apostrophes dropped, anything else not a letter or digit a space."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = plain.replace("'", "").replace("\u2019", "")
    return _NON_WORD.sub(" ", plain).strip()


def tokens(text: str) -> list[str]:
    return normalize(text).split()


def allowed_typos(word: str) -> int:
    if len(word) <= 3:
        return 0
    return 1 if len(word) <= 7 else 2


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a swap of neighbours counts once), capped at limit+1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] | None = None
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        best = current[0]
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if previous2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
            best = min(best, value)
        if best > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _deletions(word: str, depth: int) -> set[str]:
    found = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        found |= frontier
    return found


@dataclass(frozen=True)
class Phrase:
    """A pattern as written in the content files, and its normalised words."""

    text: str
    words: tuple[str, ...]


class PhraseIndex:
    """Finds which of many phrases occur in a text, typo-tolerant."""

    def __init__(self, phrases: Iterable[str]):
        self.phrases: dict[str, Phrase] = {}
        self._exact: dict[str, set[str]] = defaultdict(set)  # word -> pattern words
        self._deleted: dict[str, set[str]] = defaultdict(set)  # deletion -> pattern words
        self._prefixes: set[str] = set()
        self._by_first: dict[str, list[Phrase]] = defaultdict(list)
        for text in phrases:
            words = tuple(tokens(text))
            if not words or text in self.phrases:
                continue
            phrase = Phrase(text, words)
            self.phrases[text] = phrase
            self._by_first[words[0]].append(phrase)
            for word in words:
                self._index_word(word)

    def _index_word(self, word: str) -> None:
        if word.endswith("*"):
            self._prefixes.add(word)
            return
        self._exact[word].add(word)
        for variant in _deletions(word, allowed_typos(word)):
            self._deleted[variant].add(word)

    def _word_matches(self, token: str) -> set[str]:
        """Pattern words (including ``stem*`` ones) that this token counts as."""
        found = set(self._exact.get(token, ()))
        if len(token) > 3:
            candidates: set[str] = set()
            for variant in _deletions(token, 2 if len(token) > 7 else 1):
                candidates |= self._deleted.get(variant, set())
            for word in candidates - found:
                if len(word) > 3 and edit_distance(
                    token, word, allowed_typos(word)
                ) <= allowed_typos(word):
                    found.add(word)
        for prefix in self._prefixes:
            stem = prefix[:-1]
            # A long stem also forgives one typo in the token's start.
            if token.startswith(stem) or (
                len(stem) >= 5
                and len(token) >= len(stem)
                and edit_distance(token[: len(stem)], stem, 1) <= 1
            ):
                found.add(prefix)
        return found

    def find(self, text: str) -> list[Phrase]:
        """Every phrase that occurs in ``text``, longest first."""
        words = tokens(text)
        matches = [self._word_matches(token) for token in words]
        found: dict[str, Phrase] = {}
        for start in range(len(words)):
            for first in matches[start]:
                for phrase in self._by_first.get(first, ()):
                    end = start + len(phrase.words)
                    if end <= len(words) and all(
                        phrase.words[k] in matches[start + k] for k in range(len(phrase.words))
                    ):
                        found[phrase.text] = phrase
        return sorted(found.values(), key=lambda p: (-len(p.words), -len(p.text)))
