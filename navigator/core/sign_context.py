"""The context of a warning sign's words: denied, someone else's, long over, or a question.

ConText/NegEx style: cue words (messages/understanding/context.yaml, English and Spanish)
reach the sign's words within a few words of the same clause. "no fever", "the fever is
gone" (denied); "the cat has a temperature", "its 38 out there" (not a person); "my uncle
had a stroke in 2019" (someone else, long over); "what if i get a fever" (a question). A
clause ends at punctuation and at words such as "but" or "pero"; phrases that only look
like cues ("cant stop", "no para de sangrar") are never cues, and "now", "again" or "like
this" undo a cue that says the sign is over or denied.

Pure and cheap: it runs only when a rule has matched. It decides nothing alone: the
understanding step sets a rule's match aside only when this reading and the model's agree
(understanding.py). It must not import anything above ``core``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from .matching import fold, tokens

CONTEXT_FILE = Path("understanding") / "context.yaml"
#: What a cue may say about a sign, in the order they are reported.
KINDS = ("negated", "other", "past", "hypothetical")
#: Kinds whose cues reach the sign's words from either side ("in 2019 my uncle had a
#: stroke", "my uncle had a stroke in 2019").
STORY = ("other", "relative", "past")

#: A word (the same runs of letters and digits as ``matching.tokens``) or the end of a clause.
_PIECES = re.compile(r"[a-z0-9*]+|[.,;:!?\n](?=\s|$)")


@dataclass(frozen=True)
class Cue:
    words: tuple[str, ...]
    kind: str  # negated | other | relative | past | hypothetical
    after: bool  # the cue follows the sign's words


def _phrases(value) -> list[tuple[str, ...]]:
    return [tuple(tokens(str(phrase))) for phrase in value or [] if tokens(str(phrase))]


def _index(phrases) -> dict[str, list[tuple[str, ...]]]:
    """Phrases by their first word, longest first."""
    index: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for phrase in sorted(set(phrases), key=lambda p: (-len(p), p)):
        index[phrase[0]].append(phrase)
    return dict(index)


def _found(words: list[str], index: dict[str, list[tuple[str, ...]]]):
    """(start, phrase) for each phrase of ``index`` in ``words``."""
    for i, word in enumerate(words):
        for phrase in index.get(word, ()):
            if tuple(words[i : i + len(phrase)]) == phrase:
                yield i, phrase


def _starts(words: list[str], i: int, index: dict[str, list[tuple[str, ...]]]) -> bool:
    """A phrase of ``index`` starts at position ``i``."""
    return any(tuple(words[i : i + len(p)]) == p for p in index.get(words[i], ()))


class SignContext:
    """The cues of context.yaml, compiled once per content catalog."""

    def __init__(self, root: Path):
        data = yaml.safe_load((Path(root) / CONTEXT_FILE).read_text("utf-8")) or {}
        self.window = int(data.get("window", 5))
        self.story_window = int(data.get("story_window", self.window))

        def both(value) -> list[tuple[str, ...]]:
            return [p for language in ("en", "es") for p in _phrases((value or {}).get(language))]

        self.terminators = _index(both(data.get("terminators")))
        self.conjunctions = _index(both(data.get("conjunctions")))
        self.pseudo = _index(both(data.get("pseudo")))
        self.current = _index(both(data.get("current")))
        self.insist = _index(both(data.get("insist")))
        self.not_the_sign = _index(both(data.get("not_the_sign")))
        self.first_person = {p[0] for p in both(data.get("first_person")) if len(p) == 1}
        self.things = set(both(data.get("things")))
        reassured = data.get("reassured") or {}
        self.reassured = _index(both(reassured.get("phrases")))
        self.unreassured = _index(both(reassured.get("not_before")))
        self.contrast = _index(both(reassured.get("contrast")))
        cues: dict[tuple[str, ...], list[Cue]] = defaultdict(list)
        for kind in ("negated", "other", "relative", "past", "hypothetical"):
            for side, after in (("before", False), ("after", True)):
                for words in both((data.get(kind) or {}).get(side)):
                    cues[words].append(Cue(words, kind, after))
                    if kind in STORY:  # a story's cue reaches both ways
                        cues[words].append(Cue(words, kind, not after))
        for words in both(data.get("year_words")):
            for year in range(1940, 2030):
                phrase = (*words, str(year))
                cues[phrase] += [Cue(phrase, "past", True), Cue(phrase, "past", False)]
        self.cues = cues
        self.cue_index = _index(cues)

    def reasons(self, text: str, spans: list[range]) -> tuple[str, ...]:
        """What the context says of every occurrence of the sign's words (``spans``, in
        ``matching.tokens`` positions): the kinds (``KINDS``) that cover all of them, or ()
        when any occurrence stands bare ("no fever yesterday, fever now": the second)."""
        if not spans:
            return ()
        words, clause = self._clauses(text)
        if max(span.stop for span in spans) > len(words):
            return ()  # the words were read differently: no context, the sign stands
        found_cues = [(at, cue) for at, phrase in self._cues(words) for cue in self.cues[phrase]]
        blocked = set()
        if any(True for _ in _found(words, self.insist)):
            blocked.add("negated")
        if any(True for _ in _found(words, self.current)):
            # "now", "again": not long over, and not only a question ("if mom gets confused
            # again who do i call she is confused now")
            blocked.update(("past", "hypothetical"))
        found = [self._around(words, clause, found_cues, span) - blocked for span in spans]
        return tuple(kind for kind in KINDS if all(kind in kinds for kinds in found))

    def of_entries(self, text: str, entries: list[list[list[range]]]) -> tuple[str, ...]:
        """What the context says of a rule's match (``Screen.sign_word_groups``): an entry
        (words that must all be there, "biopsy" and "bleeding") is read away by what reads
        away every occurrence of one of its groups ("the biopsy went fine, no bleeding": no
        bleeding, so no bleeding at the biopsy); the match, by the kinds every firing entry
        shares, or () when any entry stands."""
        kinds: set[str] | None = None
        for groups in entries:
            read = {kind for spans in groups for kind in self.reasons(text, spans)}
            kinds = read if kinds is None else kinds & read
            if not kinds:
                return ()
        return tuple(kind for kind in KINDS if kind in (kinds or ()))

    def denied_first(self, text: str, entries: list[list[list[range]]]) -> bool:
        """A denial comes before the sign's words, in another clause or out of reach ("no
        fever but i cant breathe", "ya no tengo fuerzas para nada, mejor me muero"): what is
        denied was said first, and the sign after it stands. ``entries`` as
        ``Screen.sign_word_groups``."""
        first = min(
            (span.start for groups in entries for spans in groups for span in spans),
            default=None,
        )
        if first is None:
            return False
        words, _ = self._clauses(text)
        return any(
            at.stop <= first
            and any(cue.kind == "negated" and not cue.after for cue in self.cues[phrase])
            for at, phrase in self._cues(words)
        )

    def anywhere(self, text: str) -> tuple[str, ...]:
        """The kinds of cue anywhere in ``text`` that say a sign the *model* suspects (no
        rule matched, so there are no sign words to read around) is not the person's now:
        not a person's (a film, the weather, "lol"), long over, or a question. Denials are
        left out (without the sign's words, their reach is unknown), but not the person
        saying they are fine (``reassured``): "my back is doing great today"."""
        words, _ = self._clauses(text)
        kinds = {
            cue.kind
            for _, phrase in self._cues(words)
            for cue in self.cues[phrase]
            if cue.kind in ("other", "past", "hypothetical")
        }
        if any(True for _ in _found(words, self.current)):
            kinds.discard("past")
        if self.reassured_at_end(words):
            kinds.add("negated")
        return tuple(kind for kind in KINDS if kind in kinds)

    def reassured_at_end(self, words: list[str]) -> bool:
        """The person says they (or the part they name) are fine, and says nothing after it
        that turns it ("im fine but i cant stop shaking") or just before it that denies it
        ("im not ok", "algo no esta bien"): the last word on the matter is that all is well."""
        said = False
        for i, word in enumerate(words):
            if _starts(words, i, self.contrast):
                said = False
            for phrase in self.reassured.get(word, ()):
                if tuple(words[i : i + len(phrase)]) == phrase and not any(
                    _starts(words, j, self.unreassured) for j in range(max(0, i - 2), i)
                ):
                    said = True
        return said

    def features(self, text: str) -> list[str]:
        """The cues of ``text`` as extra words for the model: each cue's kind ("cue_negated")
        and each word within its reach marked with it ("negated_bleeding"), and "pseudo"
        where a phrase only looks like a cue ("cant stop").

        Word and character n-grams alone read "no bleeding at all from the biopsy spot" much
        as "bleeding from the biopsy spot": the sign's words outweigh one "no". Marked, the
        denied, someone else's, long-over or asked-about words are features of their own,
        learnt from the near misses of the corpus, while the cue lists stay the clinicians'
        (this file) and the model decides nothing the rules' floor does not allow.
        """
        words, clause = self._clauses(text)
        marked = ["pseudo"] if self._pseudo(words) else []
        for at, phrase in self._cues(words):
            for cue in self.cues[phrase]:
                kind = "other" if cue.kind == "relative" else cue.kind
                marked.append(f"cue_{kind}")
                marked += [f"{kind}_{words[i]}" for i in self._reach(words, clause, at, cue)]
        return marked

    def _reach(self, words, clause, at: range, cue: Cue) -> list[int]:
        """The positions a cue at ``at`` reaches: its window, its clause, up to a terminator
        (or, for a denial, a conjunction)."""
        window = self.window if cue.kind == "negated" else self.story_window
        step = -1 if cue.after else 1
        i = at.start - 1 if cue.after else at.stop
        reached: list[int] = []
        while 0 <= i < len(words) and len(reached) < window and clause[i] == clause[at.start]:
            if _starts(words, i, self.terminators) or (
                cue.kind == "negated" and _starts(words, i, self.conjunctions)
            ):
                break
            reached.append(i)
            i += step
        return reached

    def _cues(self, words: list[str]) -> list[tuple[range, tuple[str, ...]]]:
        """(where, phrase) of each cue in ``words``, leaving out those inside a phrase that
        only looks like a cue ("cant stop")."""
        taken = self._pseudo(words)
        return [
            (at, phrase)
            for start, phrase in _found(words, self.cue_index)
            if not taken.intersection(at := range(start, start + len(phrase)))
        ]

    def _pseudo(self, words: list[str]) -> set[int]:
        """Positions of phrases that only look like cues ("cant stop"): never cues."""
        taken: set[int] = set()
        for start, phrase in _found(words, self.pseudo):
            taken.update(range(start, start + len(phrase)))
        return taken

    def without_other_things(self, text: str) -> str:
        """``text`` without the phrases in which a sign's word names something else ("blood
        thinner", "blood test"), or ``text`` itself when it has none: if the rules no
        longer fire on what is left, the sign's words were about something else."""
        words, _ = self._clauses(text)
        named = set()
        for start, phrase in _found(words, self.not_the_sign):
            named.update(range(start, start + len(phrase)))
        if not named:
            return text
        return " ".join(word for i, word in enumerate(words) if i not in named)

    def unsure(self, text: str, entries: list[list[list[range]]]) -> bool:
        """The words say the sign may be here now after all: "now", "again", "still" or
        "like this", or one mention of the same words is denied and another stands bare ("no
        fever yesterday but fever now"; ``entries`` as ``Screen.sign_word_groups``, where
        "biopsy" and "bleeding" are two groups of one entry, not two mentions). The model
        alone then sets nothing aside."""
        words, _ = self._clauses(text)
        if any(True for _ in _found(words, self.current)) or any(
            True for _ in _found(words, self.insist)
        ):
            return True
        return any(
            len({bool(self.reasons(text, [span])) for span in spans}) > 1
            for groups in entries
            for spans in groups
            if len(spans) > 1 and max(span.stop for span in spans) <= len(words)
        )

    @staticmethod
    def _clauses(text: str) -> tuple[list[str], list[int]]:
        """The words of ``text`` and each one's clause number."""
        words, clause, number = [], [], 0
        for piece in _PIECES.findall(fold(text)):
            if piece[0] in ".,;:!?\n":
                number += 1
                continue
            words.append(piece)
            clause.append(number)
        return words, clause

    def _around(self, words, clause, found_cues, span: range) -> set[str]:
        """The kinds of cue that reach the sign's words at ``span``; a relative's sign
        counts as someone else's only when it is also long over."""
        oneself = self._said_of_oneself(words, clause, span)
        kinds = {
            cue.kind
            for cue_at, cue in found_cues
            if self._apart(cue_at, span, cue)
            and self._reaches(words, clause, cue_at, span, cue.after, cue.kind)
            and not (cue.kind == "other" and oneself and cue.words in self.things)
        }
        if "relative" in kinds:
            kinds.discard("relative")
            if "past" in kinds:
                kinds.add("other")
        return kinds

    @staticmethod
    def _apart(cue_at: range, span: range, cue: Cue) -> bool:
        """The cue is not the sign's own words. Only a question said before the sign may
        share its first words ("y si me falta" with "me falta el aire": what if I am short
        of breath): it opens the sign without being it. A denial never may ("ya no" must
        not read "no puedo respirar" away)."""
        if not set(cue_at) & set(span):
            return True
        return cue.kind == "hypothetical" and not cue.after and SignContext._opens(cue_at, span)

    @staticmethod
    def _opens(cue_at: range, span: range) -> bool:
        """The cue starts before the sign's words and ends inside them."""
        return cue_at.start < span.start < cue_at.stop <= span.stop

    def _said_of_oneself(self, words, clause, span: range) -> bool:
        """The sign's clause speaks of the writer ("i", "tengo"): a pet, a car or a baby in
        it (``things``) does not make the sign someone else's ("i was feeding the parrot and
        fell", "el carro esta descompuesto y tengo fiebre", "the baby and i both have a
        fever"); a joke or a film still does ("that movie had me gasping lol")."""
        return any(
            word in self.first_person
            for word, number in zip(words, clause)
            if number == clause[span.start]
        )

    def _reaches(self, words, clause, cue_at: range, span: range, after: bool, kind: str) -> bool:
        """The cue is in the sign's clause, within the window, with no terminator between."""
        start, stop = (span.stop, cue_at.start) if after else (cue_at.stop, span.start)
        if not after and self._opens(cue_at, span):
            start = stop  # a question that opens the sign's words (SignContext._apart)
        window = self.window if kind == "negated" else self.story_window
        if start > stop or stop - start > window:
            return False
        if (
            clause[cue_at.start] != clause[span.start]
            or clause[span.start] != clause[span.stop - 1]
        ):
            return False
        between = words[start:stop]
        if kind == "negated" and any(True for _ in _found(between, self.conjunctions)):
            return False
        return not any(True for _ in _found(between, self.terminators))
