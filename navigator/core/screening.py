"""The red-flag screen: warning signs in what a patient writes or says.

It runs on every inbound text and every spoken answer before anything else, STOP
included, because a person in danger may also be angry at the messages. The rules and
their words (English and Spanish, both always checked) are content: messages/redflags.yaml
gives the order, most urgent first; messages/<lang>/redflags.yaml the words and replies.
A rule fires when, for any one of its entries, every group of words has a match.
When in doubt it escalates: the navigator never rules out an emergency.

A rule with ``fever_at`` thresholds also reads numbers: "temp is 101", "temperatura de
39". A number next to one of the rule's ``temperature.words`` is a stated temperature.
At or above the threshold it is a fever; when every stated temperature is below it,
phrases built on those neutral words ("a temperature of 98.6") are not a warning sign.
Words the patient chose, "fever" or "chills", always are.

The reply is in the language of the words: "me quiero suicidar" is Spanish even though
"suicidar" is one typo from the English "suicidal". The language whose words match with
fewer typos wins, then the one whose exact words cover more of the message, then the
person's own language. A language the person chose wins over all of this, but that is
the conversation's decision, not the screen's.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from dataclasses import dataclass

from .content import LANGUAGES, Catalog
from .matching import Match, PhraseIndex, fold, tokens

#: Body temperatures as people write them: a number in a range is read in that scale.
CELSIUS = (34.0, 45.0)
FAHRENHEIT = (90.0, 115.0)
#: How many words may stand between a number and "temperature" for it to be one.
NEAR = 4
_NUMBER_OR_WORD = re.compile(r"\d+(?:[.,]\d+)?|[a-z]+|°")
_UNITS = {"°", "f", "c"}


@dataclass(frozen=True)
class RedFlag:
    rule: str
    action: str  # 911 | 988 | care_team_now | care_team_today
    language: str  # the language of the words that matched


@dataclass(frozen=True)
class Temperature:
    """A number the person gave as a temperature, and the words that said so."""

    value: float
    words: dict[str, int]  # temperature word -> typos; empty when a unit (°, F, C) said so

    def at_least(self, threshold: dict) -> bool:
        low, high = CELSIUS
        if low <= self.value <= high:
            return self.value >= threshold["celsius"]
        low, high = FAHRENHEIT
        return low <= self.value <= high and self.value >= threshold["fahrenheit"]

    @property
    def plausible(self) -> bool:
        return (
            CELSIUS[0] <= self.value <= CELSIUS[1] or FAHRENHEIT[0] <= self.value <= FAHRENHEIT[1]
        )


#: Texts whose screening is remembered (in this process's memory only, never written).
SCREENS_REMEMBERED = 512


class Screen:
    """Compiled once per content catalog; ``check`` is then cheap."""

    def __init__(self, catalog: Catalog):
        self.rules = [(rule["id"], str(rule["action"])) for rule in catalog.redflag_rules]
        self.thresholds = {
            rule["id"]: {
                scale: float(rule["fever_at"][scale]) for scale in ("celsius", "fahrenheit")
            }
            for rule in catalog.redflag_rules
            if "fever_at" in rule
        }
        self.entries: dict[tuple[str, str], list[list[list[str]]]] = {}
        self.languages: dict[str, set[str]] = defaultdict(set)  # pattern -> whose words
        temperature_words: dict[str, set[str]] = defaultdict(set)
        as_written: set[str] = set()
        for language in LANGUAGES:
            as_written.update(catalog.get("redflags.as_written.words", language))
            for rule, _ in self.rules:
                entries = catalog.get(f"redflags.{rule}.match", language)
                self.entries[(rule, language)] = entries
                for entry in entries:
                    for group in entry:
                        for word in group:
                            self.languages[word].add(language)
            for rule in self.thresholds:
                for word in catalog.get(f"redflags.{rule}.temperature.words", language):
                    temperature_words[word].add(language)
        self.index = PhraseIndex(self.languages, exact_wins=True, as_written=as_written)
        self.temperature_index = PhraseIndex(temperature_words)
        self.temperature_languages = {
            phrase.words[0]: temperature_words[text]
            for text, phrase in self.temperature_index.phrases.items()
        }
        self.yields = self._yields(catalog)
        self._fired = functools.lru_cache(maxsize=SCREENS_REMEMBERED)(self._fired)

    def _yields(self, catalog: Catalog) -> dict[str, tuple[str, set[str], PhraseIndex]]:
        """rule -> (the rule it yields to, the words it yields on, an index of the words
        that keep it), for the rules with ``yields_to`` (messages/redflags.yaml says why)."""
        yields = {}
        for rule in catalog.redflag_rules:
            if "yields_to" not in rule:
                continue
            mild, unless = set(), set()
            for language in LANGUAGES:
                mild.update(catalog.get(f"redflags.{rule['id']}.yields_when", language))
                unless.update(catalog.get(f"redflags.{rule['id']}.yields_unless", language))
            yields[rule["id"]] = (str(rule["yields_to"]), mild, PhraseIndex(unless))
        return yields

    def check(self, text: str, prefer: str = "en") -> RedFlag | None:
        """The most urgent rule ``text`` triggers, or None.

        ``prefer`` (the number's language) only settles a tie between the languages.
        """
        if not text or not text.strip():
            return None
        fired = self._fired(text)
        if fired is None:
            return None
        rule, action, scores, found = fired
        return RedFlag(rule, action, self._language(scores, found, prefer))

    def _fired(self, text: str):
        """The most urgent rule ``text`` fires, with each language's typos and the matches.

        Remembered for the last ``SCREENS_REMEMBERED`` texts (``__init__``): a webhook screens
        a text before touching the database and the understanding step screens it again,
        and the same short texts ("1", "yes", "MENU") come all day.
        """
        found = self.index.matches(text)
        temperatures = self._stated_temperatures(text)
        if not found and not temperatures:
            return None
        for rule, action in self.rules:
            threshold = self.thresholds.get(rule)
            matches = found
            if threshold and temperatures and not any(t.at_least(threshold) for t in temperatures):
                matches = [m for m in found if not self._neutral_temperature(m)]
            scores = self._typos_by_language(rule, matches)
            if threshold:
                for temperature in temperatures:
                    if temperature.at_least(threshold):
                        self._add_temperature(scores, temperature)
            if scores:
                other = self._yielded(rule, text, matches)
                if other is not None:
                    return other
                return rule, action, scores, found
        return None

    def _yielded(self, rule: str, text: str, matches: list[Match]):
        """What ``_fired`` returns for the rule ``rule`` yields to, when every one of
        ``rule``'s words in ``text`` is one it yields on, none of the words that keep it is
        there, and the other rule fires too: "short of breath since enhertu" is the drug's
        lung warning (R17), whose reply keeps the 911 line; "cant breathe" and "sudden" stay
        911 (R6). Else None."""
        if rule not in self.yields:
            return None
        other, mild, keeps = self.yields[rule]
        own = {word for entry in self._entries(rule) for group in entry for word in group}
        said = {match.phrase.text for match in matches} & own
        if not said or not said <= mild or keeps.find(text):
            return None
        scores = self._typos_by_language(other, matches)
        if not scores:
            return None
        return other, dict(self.rules)[other], scores, matches

    def sign_words(self, text: str, rule: str) -> list[range]:
        """Where ``rule``'s words occur in ``text`` (positions in ``matching.tokens``), each
        occurrence; for a fever told only by a number ("39.5"), where the numbers are.
        What the context step (sign_context.py) reads around."""
        return self._spans(text, rule, self.occurrences(text, rule))

    def sign_word_groups(self, text: str, rule: str) -> list[list[list[range]]]:
        """For each of ``rule``'s entries whose every group of words occurs in ``text``: per
        group, where its words occur (``sign_words``' positions). An entry is words that must
        all be there ("biopsy" and "bleeding"), so what the context says of one group ("the
        biopsy went fine, no bleeding") it says of the entry. When no entry has all its
        groups (a fever told only by a number), ``sign_words`` as one entry of one group."""
        found = self.occurrences(text, rule)  # once: the typo matching is the cost
        fired = []
        for entry in self._entries(rule):
            groups = [[m.positions for m in found if m.phrase.text in group] for group in entry]
            if all(groups):
                fired.append(groups)
        if not fired:
            spans = self._spans(text, rule, found)
            fired = [[spans]] if spans else []
        return fired

    def _entries(self, rule: str) -> list[list[list[str]]]:
        return [entry for language in LANGUAGES for entry in self.entries[(rule, language)]]

    def occurrences(self, text: str, rule: str) -> list[Match]:
        """Every occurrence in ``text`` of any of ``rule``'s words, with the typos each took
        (a match that rests on typos alone is a reviewer's first suspect)."""
        among = {word for entry in self._entries(rule) for group in entry for word in group}
        return self.index.occurrences(text, among)

    def _spans(self, text: str, rule: str, found: list[Match]) -> list[range]:
        spans = [match.positions for match in found]
        if not spans and rule in self.thresholds:
            spans = [range(i, i + 1) for i, word in enumerate(tokens(text)) if word.isdigit()]
        return spans

    def fever_stated(self, text: str) -> bool:
        """The message gives a number that, as a body temperature, is a fever ("101",
        "fiebre a 38.9"), told as a temperature or not: for deciding what not to set aside,
        a number in the range is enough."""
        numbers = [
            Temperature(float(word.replace(",", ".")), {})
            for word in _NUMBER_OR_WORD.findall(fold(text))
            if word[0].isdigit()
        ]
        return any(
            t.at_least(threshold)
            for t in numbers + self._stated_temperatures(text)
            for threshold in self.thresholds.values()
        )

    def normal_temperature(self, text: str) -> bool:
        """The message states a body temperature, and every one stated is below a fever."""
        temperatures = self._stated_temperatures(text)
        return bool(temperatures) and not any(
            t.at_least(threshold) for t in temperatures for threshold in self.thresholds.values()
        )

    def _typos_by_language(self, rule: str, found: list[Match]) -> dict[str, int]:
        """For each language whose entries fire, the fewest typos any firing entry needs."""
        present: dict[str, int] = {}
        for match in found:
            present[match.phrase.text] = min(match.typos, present.get(match.phrase.text, 99))
        scores: dict[str, int] = {}
        for language in LANGUAGES:
            for entry in self.entries[(rule, language)]:
                groups = [[present[w] for w in group if w in present] for group in entry]
                if all(groups):
                    typos = sum(min(group) for group in groups)
                    scores[language] = min(typos, scores.get(language, typos))
        return scores

    def _language(self, scores: dict[str, int], found: list[Match], prefer: str) -> str:
        """Fewest typos first, then the most words matched exactly, then ``prefer``."""

        def covered(language: str) -> int:
            return len(
                {
                    position
                    for match in found
                    if match.typos == 0 and language in self.languages[match.phrase.text]
                    for position in match.positions
                }
            )

        return min(scores, key=lambda lang: (scores[lang], -covered(lang), lang != prefer))

    def _neutral_temperature(self, match: Match) -> bool:
        return any(word in self.temperature_languages for word in match.phrase.words)

    def _add_temperature(self, scores: dict[str, int], temperature: Temperature) -> None:
        said_by: dict[str, int] = {}
        for word, typos in temperature.words.items():
            for language in self.temperature_languages[word]:
                said_by[language] = min(typos, said_by.get(language, typos))
        for language, typos in (said_by or dict.fromkeys(LANGUAGES, 0)).items():  # "39°" alone
            scores[language] = min(typos, scores.get(language, typos))

    def _stated_temperatures(self, text: str) -> list[Temperature]:
        """Numbers given as a body temperature: beside a temperature word or a unit."""
        if not any(ch.isdigit() for ch in text):
            return []
        words = _NUMBER_OR_WORD.findall(fold(text.replace("º", "°")))
        named = [self.temperature_index.word_matches(w) if w.isalpha() else {} for w in words]
        stated = []
        for i, word in enumerate(words):
            if not word[0].isdigit():
                continue
            nearby: dict[str, int] = {}
            for j in range(max(0, i - NEAR), min(len(words), i + NEAR + 1)):
                for found, typos in named[j].items():
                    nearby[found] = min(typos, nearby.get(found, typos))
            has_unit = i + 1 < len(words) and words[i + 1] in _UNITS
            temperature = Temperature(float(word.replace(",", ".")), nearby)
            if (nearby or has_unit) and temperature.plausible:
                stated.append(temperature)
        return stated
