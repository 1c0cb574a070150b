"""Finding known words and phrases in what people type or say, forgiving typos.

Patients write on small keypads, tired and worried: "numbess", "her 2", "biopcy",
"espalda" without the accent. Every lookup here ignores case, accents and punctuation,
and accepts one typo in a word of 4 to 7 letters and two in longer words. Words of 3
letters or fewer must match exactly ("er", "ct", "pr" would otherwise match anything).
A pattern word ending in ``*`` matches any word that starts with it. An index built
with ``typos=False`` forgives case, accents and punctuation only: for phrases where a
one-letter slip changes the meaning ("no me escriban", do not write to me, against
"no me escriben", they do not write to me). An index built with ``exact_wins=True``
reads a word that is itself one of its pattern words as that word, never as a typo of a
different one; only a longer or shorter form of it still counts ("fever" for "fevers").
In the warning-sign screen, "roja" (red: a blood clot) is never "rota" (broken: a
fracture), nor "feel" "fell". Words given as ``as_written`` are common words one letter
from a pattern word that people write far more often than the typo ("what do i tell
her" is not "i fell"): they only ever match themselves.

Lookups must stay fast (every inbound message is screened), so fuzzy matching uses a
deletion index (the SymSpell idea): candidate words are found by shared deletions and
only those are checked with a real edit distance; and each index remembers what the words
it has seen matched (people use the same few thousand words), up to ``WORDS_REMEMBERED``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

_NON_WORD = re.compile(r"[^a-z0-9*]+")
#: Words whose matches an index keeps (a few MiB at most); then it starts again.
WORDS_REMEMBERED = 20_000


def fold(text: str) -> str:
    """Lower case, no accents, apostrophes dropped; punctuation and digits kept."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return plain.replace("'", "").replace("\u2019", "")


def normalize(text: str) -> str:
    """Lower case, no accents, apostrophes dropped, anything else not a letter or digit a space."""
    return _NON_WORD.sub(" ", fold(text)).strip()


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


@dataclass(frozen=True)
class Match:
    """Where a phrase occurs in a text, and how many typos it took to see it there."""

    phrase: Phrase
    start: int
    typos: int

    @property
    def positions(self) -> range:
        return range(self.start, self.start + len(self.phrase.words))


class PhraseIndex:
    """Finds which of many phrases occur in a text, typo-tolerant unless told otherwise."""

    def __init__(
        self,
        phrases: Iterable[str],
        typos: bool = True,
        exact_wins: bool = False,
        as_written: Iterable[str] = (),
    ):
        self.typos = typos
        self.exact_wins = exact_wins
        self.as_written = {word for text in as_written for word in tokens(text)}
        self.phrases: dict[str, Phrase] = {}
        self._exact: dict[str, set[str]] = defaultdict(set)  # word -> pattern words
        self._deleted: dict[str, set[str]] = defaultdict(set)  # deletion -> pattern words
        self._prefixes: set[str] = set()
        self._by_first: dict[str, list[Phrase]] = defaultdict(list)
        self._seen: dict[str, dict[str, int]] = {}  # token -> word_matches(token)
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

    def word_matches(self, token: str) -> dict[str, int]:
        """Pattern words (including ``stem*`` ones) this one word counts as, with the typos.

        The same dict for the same token, remembered: callers must not change it.
        """
        found = self._seen.get(token)
        if found is None:
            if len(self._seen) >= WORDS_REMEMBERED:
                self._seen.clear()
            found = self._seen[token] = self._word_matches(token)
        return found

    def _word_matches(self, token: str) -> dict[str, int]:
        found = dict.fromkeys(self._exact.get(token, ()), 0)
        forgive = self.typos and token not in self.as_written
        if forgive and len(token) > 3:
            candidates: set[str] = set()
            for variant in _deletions(token, 2 if len(token) > 7 else 1):
                candidates |= self._deleted.get(variant, set())
            for word in candidates - found.keys():
                if len(word) > 3 and self._may_be_typo_of(token, word):
                    distance = edit_distance(token, word, allowed_typos(word))
                    if distance <= allowed_typos(word):
                        found[word] = distance
        for prefix in self._prefixes:
            stem = prefix[:-1]
            if token.startswith(stem):
                found[prefix] = 0
            # A long stem also forgives one typo in the token's start.
            elif (
                forgive
                and len(stem) >= 5
                and len(token) >= len(stem)
                and edit_distance(token[: len(stem)], stem, 1) <= 1
            ):
                found[prefix] = 1
        return found

    def _may_be_typo_of(self, token: str, word: str) -> bool:
        """With ``exact_wins``, a pattern word is only a typo of its own longer or shorter form."""
        if not self.exact_wins or token not in self._exact:
            return True
        return token.startswith(word) or word.startswith(token)

    def matches(self, text: str) -> list[Match]:
        """Every phrase that occurs in ``text``, each where it needs the fewest typos."""
        words = tokens(text)
        per_word = [self.word_matches(token) for token in words]
        best: dict[str, Match] = {}
        for start in range(len(words)):
            for first in per_word[start]:
                for phrase in self._by_first.get(first, ()):
                    end = start + len(phrase.words)
                    if end > len(words) or not all(
                        phrase.words[k] in per_word[start + k] for k in range(len(phrase.words))
                    ):
                        continue
                    typos = sum(per_word[start + k][w] for k, w in enumerate(phrase.words))
                    if phrase.text not in best or typos < best[phrase.text].typos:
                        best[phrase.text] = Match(phrase, start, typos)
        return list(best.values())

    def occurrences(self, text: str, among: set[str]) -> list[Match]:
        """Every place (not only the best) where one of the phrases ``among`` occurs."""
        words = tokens(text)
        per_word = [self.word_matches(token) for token in words]
        found = []
        for start in range(len(words)):
            for first in per_word[start]:
                for phrase in self._by_first.get(first, ()):
                    end = start + len(phrase.words)
                    if phrase.text not in among or end > len(words):
                        continue
                    if all(
                        phrase.words[k] in per_word[start + k] for k in range(len(phrase.words))
                    ):
                        typos = sum(per_word[start + k][w] for k, w in enumerate(phrase.words))
                        found.append(Match(phrase, start, typos))
        return found

    def find(self, text: str) -> list[Phrase]:
        """Every phrase that occurs in ``text``, longest first."""
        found = [match.phrase for match in self.matches(text)]
        return sorted(found, key=lambda p: (-len(p.words), -len(p.text)))
