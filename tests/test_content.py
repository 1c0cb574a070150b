"""The words patients get: complete in both languages, plain, short, and safe to send.

Readability is measured on every string: English by Flesch-Kincaid grade (SMOG shown
beside it in failures and in ``scripts/readability-report``), Spanish by INFLESZ.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from readability import english_grades, inflesz, is_gsm7

from navigator import create_app, menus
from navigator.content import LANGUAGES, ContentError, load, placeholders

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = ROOT / "messages"
CATALOG = load(MESSAGES)

#: Strings that must name a drug or a test and so read above grade 6 (at most grade 8).
GRADE_8_EXCEPTIONS = {
    # Ends with the Spanish hint "ESPANOL para espanol": English formulas misread Spanish words.
    "prompts.sms.footer_main",
}
#: Spanish strings with the same need (INFLESZ 55 at least, "normal").
INFLESZ_EXCEPTIONS: set[str] = set()
NOT_PROSE = (".words", ".match")  # what people type, not what they read
NOT_PROSE_KEYS = {
    "prompts.calendar.time",
    "prompts.calendar.date_long",
    "prompts.calendar.date_short",
    "prompts.calendar.am",
    "prompts.calendar.pm",
    "prompts.sms.option",
    "prompts.voice.option",
}


def prose(language: str):
    for key, value in CATALOG.strings[language].items():
        if key.endswith(NOT_PROSE) or key in NOT_PROSE_KEYS or key.startswith("prompts.calendar."):
            continue
        for text in [value] if isinstance(value, str) else value:
            yield key, text


def _readable_words(text: str) -> bool:
    return len(re.findall(r"[A-Za-zÁÉÍÓÚáéíóúñÑ]+", text)) >= 4


@pytest.mark.parametrize(
    "key,text", list(prose("en")), ids=lambda v: v if "." in str(v)[:40] else ""
)
def test_english_reads_at_grade_6_or_below(key, text):
    if not _readable_words(text):
        return
    grade, smog = english_grades(text)
    ceiling = 8.0 if key in GRADE_8_EXCEPTIONS else 6.0
    assert grade <= ceiling, f"{key}: Flesch-Kincaid {grade:.1f} (SMOG {smog:.1f}): {text}"


@pytest.mark.parametrize(
    "key,text", list(prose("es")), ids=lambda v: v if "." in str(v)[:40] else ""
)
def test_spanish_reads_as_fairly_easy_on_the_inflesz_scale(key, text):
    if not _readable_words(text):
        return
    score = inflesz(text)
    floor = 55 if key in INFLESZ_EXCEPTIONS else 65
    assert score >= floor, f"{key}: INFLESZ {score:.0f}: {text}"


def test_english_uses_only_gsm7_characters():
    bad = [(key, text) for key, text in prose("en") if not is_gsm7(text)]
    assert bad == []


def test_spanish_keeps_its_accents():
    spanish = " ".join(text for _, text in prose("es"))
    assert re.search(r"[áéíóúñ¿]", spanish)


def test_every_text_page_with_its_menu_or_footer_fits_320_characters(app):
    from navigator.sms import node_text

    for language in LANGUAGES:
        for node_id in menus.walk(CATALOG):
            for page in range(menus.page_count(CATALOG, node_id, language)):
                text = node_text(menus.Position(node_id, page), language)
                assert len(text) <= 320, f"{node_id} page {page} ({language}): {len(text)} chars"


def test_single_replies_fit_320_characters(app):
    from navigator.outcomes import common_values

    values = {
        **common_values(),
        "when": "Wednesday, September 30, 10:30 AM",
        "place": "Main Hospital Imaging, 2nd floor",
        "prep": "x" * 60,
        "digit": 4,
        "label": "Help and support",
    }
    for language in LANGUAGES:
        for key, value in CATALOG.strings[language].items():
            if key.startswith(("prompts.sms.", "glossary.", "redflags.")) and isinstance(
                value, str
            ):
                assert len(CATALOG.render(key, language, **values)) <= 320, key


def test_keyword_replies_fit_one_segment_in_english(app):
    from navigator.outcomes import common_values

    for key in ("prompts.sms.help", "prompts.sms.stop", "prompts.sms.start"):
        text = CATALOG.render(key, "en", **common_values())
        assert len(text) <= 160, f"{key}: {len(text)}"


def test_both_languages_have_the_same_keys_and_placeholders():
    english, spanish = CATALOG.strings["en"], CATALOG.strings["es"]
    assert set(english) == set(spanish)
    for key in english:
        if not key.endswith(NOT_PROSE):
            assert placeholders(english[key]) == placeholders(spanish[key]), key


def test_every_topic_names_its_sources():
    for node in CATALOG.nodes.values():
        if node.id != menus.MAIN and not node.action:
            assert node.sources, f"{node.id} names no source"
            assert all(s.startswith("http") for s in node.sources), node.id


def test_the_phone_menus_offer_at_most_four_topics():
    assert all(len(node.children) <= 4 for node in CATALOG.nodes.values())


def test_help_stop_and_start_carry_what_carriers_require():
    for language in LANGUAGES:
        help_text = CATALOG.get("prompts.sms.help", language)
        assert {"program", "contact"} <= placeholders(help_text)
        assert "STOP" in help_text and "911" in help_text
        assert "START" in CATALOG.get("prompts.sms.stop", language)
        assert "STOP" in CATALOG.get("prompts.sms.start", language)


BANNED = [
    r"\bguarantee",
    r"\bgarantiz",
    r"stop taking",
    r"deje de tomar",
    r"\b\d+\s?mg\b",
    r"you will be cured",
    r"se va a curar",
    r"you have metastatic",
    r"usted tiene cáncer metastásico",
    r"everything happens for a reason",
    r"stay positive",
]


def test_no_string_promises_a_cure_gives_a_dose_or_stops_a_medicine():
    for language in LANGUAGES:
        for key, text in prose(language):
            for pattern in BANNED:
                assert not re.search(pattern, text, re.IGNORECASE), f"{key}: {pattern}"


def test_no_sentence_is_copied_from_the_seed_text():
    seed_dir = ROOT.parent / "shared" / "seed"
    if not seed_dir.exists():
        pytest.skip("the seed text sits beside the repository, in shared/seed")
    seed = " ".join(p.read_text() for p in seed_dir.glob("*.txt"))

    def shingles(text, size=7):
        words = re.findall(r"[a-z0-9]+", text.lower())
        return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}

    ours = shingles(" ".join(text for _, text in prose("en")))
    copied = ours & shingles(seed)
    assert copied == set()


# -- broken content stops start-up, naming file and key -------------------------------


@pytest.fixture
def messages_copy(tmp_path):
    target = tmp_path / "messages"
    shutil.copytree(MESSAGES, target)
    return target


def test_a_file_that_does_not_parse_stops_start_up_naming_it(messages_copy):
    (messages_copy / "es" / "prompts.yaml").write_text("sms: [unclosed\n")
    with pytest.raises(ContentError, match=r"es/prompts.yaml: does not parse"):
        load(messages_copy)


def test_a_key_missing_in_one_language_stops_start_up_naming_file_and_key(messages_copy):
    path = messages_copy / "es" / "prompts.yaml"
    path.write_text(path.read_text().replace("  language_set:", "  language_sett:", 1))
    with pytest.raises(ContentError, match=r"es/prompts.yaml: key 'prompts.sms.language_set'"):
        load(messages_copy)


def test_a_placeholder_that_differs_between_languages_stops_start_up(messages_copy):
    path = messages_copy / "es" / "prompts.yaml"
    text = path.read_text()
    assert "{program}" in text
    path.write_text(text.replace("{program}", "{programa}", 1))
    with pytest.raises(ContentError, match=r"placeholders"):
        load(messages_copy)


def test_an_unquoted_yes_keyword_is_caught(messages_copy):
    path = messages_copy / "keywords.yaml"
    path.write_text(path.read_text().replace('"YES"', "YES", 1))
    with pytest.raises(ContentError, match=r"keywords.yaml: opt_in: True is not text"):
        load(messages_copy)


def test_a_menu_node_without_words_stops_start_up(messages_copy):
    path = messages_copy / "menu.yaml"
    path.write_text(path.read_text() + "extra:\n  sources: []\n")
    with pytest.raises(ContentError, match=r"extra: unreachable"):
        load(messages_copy)


def test_the_app_refuses_to_start_on_broken_content(messages_copy, tmp_path):
    (messages_copy / "en" / "glossary.yaml").write_text("- not a mapping\n")
    with pytest.raises(ContentError, match=r"en/glossary.yaml"):
        create_app(
            {
                "MESSAGES_DIR": str(messages_copy),
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "x.db"),
            }
        )
