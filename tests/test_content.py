"""The words patients get: complete in both languages, plain, short, and safe to send.

Readability follows content-rubric section 7.6: every string is gated on sentence length
and on long words (English, outside the reviewed defined terms in
messages/defined-terms.yaml); grade formulas run on pooled text of 30 sentences or more per
topic family (English Flesch-Kincaid and SMOG, Spanish INFLESZ). A string's own grade is
only reported, by ``scripts/readability-report``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from readability import (
    POOL_SENTENCES,
    check_string,
    is_gsm7,
    pooled_scores,
)

from navigator.app import create_app
from navigator.core import menus
from navigator.core.content import LANGUAGES, ContentError, load, placeholders

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = ROOT / "messages"
CATALOG = load(MESSAGES)
DEFINED_TERMS = frozenset(
    term.lower() for term in yaml.safe_load((MESSAGES / "defined-terms.yaml").read_text())["terms"]
)

NOT_PROSE = (".words", ".match")  # what people type, not what they read
NOT_PROSE_KEYS = {
    "prompts.sms.option",
    "prompts.voice.option",
    "reminders.replies.choice",
}


def prose(language: str):
    """Every (key, string) a patient reads or hears, list items one by one."""
    for key, value in CATALOG.strings[language].items():
        if (
            key.endswith(NOT_PROSE)
            or key in NOT_PROSE_KEYS
            or key.startswith("prompts.calendar.")
            or ".settings." in key
        ):
            continue
        for text in [value] if isinstance(value, str) else value:
            if isinstance(text, str):
                yield key, text


def families(language: str) -> dict[str, list[str]]:
    """Pooled text per topic family: each branch of the main menu, the glossary, the flows.

    Small branches (the start screen, the next visit, support) are read together, as a
    patient meets them together.
    """
    pools: dict[str, list[str]] = {}
    for key, text in prose(language):
        stem = key.split(".")[0]
        if stem == "topics":
            node_id = key.split(".")[1]
            branch = node_id
            while CATALOG.nodes[branch].parent not in (None, menus.MAIN):
                branch = CATALOG.nodes[branch].parent
            family = branch if branch in ("tests", "about") else "start and support"
        elif stem in ("prompts", "reminders"):
            family = "prompts and reminders"
        else:
            family = stem
        pools.setdefault(family, []).append(text)
    return pools


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_has_short_sentences_and_few_long_words(language):
    """Section 7.6 per-string gates: at most 15 words a sentence on average, none over 20,
    and (English) at most one word of three syllables or more a sentence outside the
    reviewed defined terms."""
    failures = []
    for key, text in prose(language):
        problems = check_string(text, language, DEFINED_TERMS).problems()
        if problems:
            failures.append(f"{key}: {'; '.join(problems)}: {text[:80]}")
    assert failures == []


def test_english_topic_families_read_at_grade_6_with_smog_8_on_pooled_text():
    for family, texts in families("en").items():
        scores = pooled_scores(texts, "en")
        assert scores["sentences"] >= POOL_SENTENCES, (family, scores)
        assert scores["fkgl"] <= 6.0, (family, scores)
        assert scores["smog"] <= 8.0, (family, scores)


def test_spanish_topic_families_are_fairly_easy_on_pooled_inflesz():
    for family, texts in families("es").items():
        scores = pooled_scores(texts, "es")
        assert scores["sentences"] >= POOL_SENTENCES, (family, scores)
        assert scores["inflesz"] >= 65, (family, scores)


def test_a_string_full_of_long_words_fails_the_gate_and_a_defined_term_does_not():
    """The gate itself can fail: a jargon sentence is caught, a defined drug name is not."""
    jargon = "Immunohistochemistry determines eligibility for antineoplastic regimens."
    assert check_string(jargon, "en", DEFINED_TERMS).problems()
    plain = "Ask your team if trastuzumab deruxtecan fits you."
    assert check_string(plain, "en", DEFINED_TERMS).problems() == []
    rambling = " ".join(["word"] * 21) + "."
    assert check_string(rambling, "es", DEFINED_TERMS).problems()


def test_english_uses_only_gsm7_characters():
    bad = [(key, text) for key, text in prose("en") if not is_gsm7(text)]
    assert bad == []


def test_spanish_keeps_its_accents():
    spanish = " ".join(text for _, text in prose("es"))
    assert re.search(r"[áéíóúñ¿]", spanish)


def test_every_text_page_with_its_menu_or_footer_fits_320_characters(app):
    from navigator.channels.texting import node_text

    for language in LANGUAGES:
        for node_id in menus.walk(CATALOG):
            for page in range(menus.page_count(CATALOG, node_id, language)):
                text = node_text(menus.Position(node_id, page), language)
                assert len(text) <= 320, f"{node_id} page {page} ({language}): {len(text)} chars"


def test_single_replies_fit_320_characters(app):
    from navigator.catalog import site_values

    values = {
        **site_values(),
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
    from navigator.catalog import site_values

    for key in ("prompts.sms.help", "prompts.sms.stop", "prompts.sms.start"):
        text = CATALOG.render(key, "en", **site_values())
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
        assert {"program", "support"} <= placeholders(help_text)
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


@pytest.mark.parametrize("other", ["breathing_chest", "drug_lungs"])
def test_a_rule_that_yields_to_itself_or_an_unknown_rule_stops_start_up(messages_copy, other):
    """A rule may yield only to a less urgent one listed after it (messages/redflags.yaml)."""
    path = messages_copy / "redflags.yaml"
    path.write_text(path.read_text().replace("yields_to: drug_lung", f"yields_to: {other}", 1))
    with pytest.raises(ContentError, match=rf"breathing_chest yields to '{other}'"):
        load(messages_copy)


def test_a_yielding_rule_without_its_words_in_one_language_stops_start_up(messages_copy):
    path = messages_copy / "es" / "redflags.yaml"
    path.write_text(path.read_text().replace("  yields_unless:", "  yield_unless:", 1))
    with pytest.raises(ContentError, match=r"key 'redflags.breathing_chest.yields_unless'"):
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


# -- spoken words: written for the ear -------------------------------------------------------

#: Text-to-speech reads about 150 words a minute at our unhurried rate: 30 seconds is 75 words.
SPOKEN_WORDS_PER_MINUTE = 150
MOST_SECONDS_BEFORE_MORE = 30


def spoken(language: str):
    """Every (key, part) a caller hears, from every file: topics, prompts, reminders,
    warning signs (a ``voice`` key wherever it is, and each warning sign's ``say``) and the
    answers to what callers ask (``answers.say.*``, or the answer as written)."""
    strings = CATALOG.strings[language]
    for key, value in strings.items():
        heard = (
            key.endswith(".voice")
            or key.startswith(("prompts.voice.", "reminders.voice.", "answers.say."))
            or (key.startswith("redflags.") and key.endswith(".say"))
            or _answer_said_as_written(key, strings)
        )
        if not heard or ".settings." in key or key.endswith(NOT_PROSE):
            continue
        for part in [value] if isinstance(value, str) else value:
            yield key, part


def _answer_said_as_written(key: str, strings: dict) -> bool:
    """An answer (answers.<intent>) with no ``say`` variant: a caller hears its text."""
    name = key.removeprefix("answers.")
    return (
        key.startswith("answers.")
        and "." not in name
        and f"answers.say.{name}" not in strings
        and isinstance(strings[key], str)
    )


def seconds(text: str) -> float:
    return len(re.findall(r"\S+", re.sub(r"\{[a-z_]+\}", "x", text))) * 60 / SPOKEN_WORDS_PER_MINUTE


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_caller_hears_more_than_30_seconds_before_being_offered_more(language):
    too_long = [
        f"{key}: {seconds(part):.0f} s ({part[:50]}...)"
        for key, part in spoken(language)
        if seconds(part) > MOST_SECONDS_BEFORE_MORE
    ]
    assert too_long == []


#: What text-to-speech gets wrong: 911 said "nine hundred eleven", PET spelled P E T, a
#: slash read aloud, a phone number in the text's (202) form.
SAID_WRONG = {
    "emergency number as a number": r"\b911\b|\b988\b",
    "PET spelled letter by letter": r"\bP E T\b",
    "HER2 spelled letter by letter": r"\bH E R\b",
    "a slash": r"/",
    "a phone number written for the eye": r"\(\d{3}\)",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_numbers_and_letters_are_written_as_people_say_them(language):
    wrong = [
        f"{key}: {problem}"
        for key, part in spoken(language)
        for problem, pattern in SAID_WRONG.items()
        if re.search(pattern, part)
    ]
    assert wrong == []


#: What only makes sense in a text: a caller cannot reply with a word or text a menu.
TEXT_ONLY = r"\b([Rr]eply|[Rr]esponda) [A-Z0-9]+\b|\b(Text|Escriba) MENU\b"


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_answer_a_caller_hears_tells_them_to_reply_by_text(language):
    told_to_text = [key for key, part in spoken(language) if re.search(TEXT_ONLY, part)]
    assert told_to_text == []
    assert re.search(TEXT_ONLY, CATALOG.render("answers.cancel", language)) is not None


def test_the_spoken_check_can_fail():
    assert seconds(" ".join(["word"] * 76)) > MOST_SECONDS_BEFORE_MORE
    assert re.search(SAID_WRONG["emergency number as a number"], "hang up and call 911")


def test_a_topic_with_more_to_hear_has_its_parts_in_both_languages():
    for node_id, node in CATALOG.nodes.items():
        if node.children or node.action:
            assert len(CATALOG.pages(f"topics.{node_id}.voice", "en")) == 1, node_id
        counts = {len(CATALOG.pages(f"topics.{node_id}.voice", lang)) for lang in LANGUAGES}
        assert len(counts) == 1, f"{node_id}: spoken parts differ between languages"


# -- texts within budget: segments in the encoding each text really needs ---------------------

#: Budgets in segments (content rubric 4.2): keyword replies one message in English and at
#: most two in Spanish (CTIA: a keyword reply is one message); every other text, menus and
#: topic pages included, at most three (S2) in the encoding it needs. A Spanish page with an
#: accent is UCS-2, where three segments hold 201 characters, so long Spanish topics take more
#: "MORE" pages than English ones.
MOST_SEGMENTS = 3
KEYWORD_REPLIES = ("prompts.sms.help", "prompts.sms.stop", "prompts.sms.start")
REMINDERS = ("reminders.sms.default", "reminders.sms.caregiver", "reminders.sms.detailed.")
REALISTIC = {
    "when": "Wednesday, September 30, 10:30 AM",
    "place": "Mercy Imaging, 2100 Main St",
    "date": "Wed Sep 30",
    "time": "10:30 AM",
    "name": "Margaret",
    "digit": 4,
    "label": "Help and support",
    "code": "1",
    "choices": "1 for Wed Sep 30 at 10:30 AM, 2 for Thu Oct 1 at 9:00 AM",
}


def every_text(language: str):
    """(key, text) for every text message the navigator can send, filled in as sent."""
    from navigator.catalog import site_values
    from navigator.channels.texting import node_text

    values = {**site_values(), **REALISTIC}
    values["prep"] = CATALOG.render("reminders.prep.private", language, **values)
    for key, value in CATALOG.strings[language].items():
        texted = key.startswith(("prompts.sms.", "reminders.sms.", "reminders.replies.")) or (
            key.startswith(("glossary.", "redflags.")) and key.endswith(".text")
        )
        if texted and isinstance(value, str) and key not in NOT_PROSE_KEYS:
            yield key, CATALOG.render(key, language, **values)
    for node_id in menus.walk(CATALOG):
        for page in range(menus.page_count(CATALOG, node_id, language)):
            yield (
                f"menu {node_id} page {page + 1}",
                node_text(menus.Position(node_id, page), language),
            )


def segment_table(language: str) -> list[tuple[str, str, int, int]]:
    """(key, encoding, characters, segments) for every text, as the report prints it."""
    from navigator.core import gsm

    return [
        (key, gsm.encoding(text), len(text), gsm.segments(text))
        for key, text in every_text(language)
    ]


def budget(key: str, language: str) -> int:
    """The most segments a text may take in the language it is sent in."""
    if key in KEYWORD_REPLIES:
        return 1 if language == "en" else 2
    if key.startswith(REMINDERS):
        return 1 if language == "en" else MOST_SEGMENTS
    return MOST_SEGMENTS


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_fits_its_segment_budget_in_the_encoding_it_needs(app, language):
    """Reports each text's encoding and segments (run with -s to see the table)."""
    over = []
    for key, encoding, characters, count in segment_table(language):
        print(f"{language} {key:50} {encoding} {characters:4} chars {count} segment(s)")
        most = budget(key, language)
        if count > most:
            over.append(f"{key}: {count} {encoding} segments ({characters} chars), budget {most}")
        if language == "en" and encoding != "GSM-7":
            over.append(f"{key}: English must be GSM-7")
    assert over == []


# -- the glossary answers every medicine and test a patient may text -------------------------

#: "generic (Brand)" as the treatment topics name each medicine.
NAMED_MEDICINE = re.compile(r"([a-z][a-z ]+?[a-z]) \(([A-Z][A-Za-z]+)\)")


def test_every_medicine_a_topic_names_is_answered_by_the_glossary_by_name_and_brand():
    from navigator.core.glossary import Glossary

    glossary = Glossary(CATALOG)
    unanswered = []
    for key, text in prose("en"):
        if not key.startswith("topics."):
            continue
        for generic, brand in NAMED_MEDICINE.findall(text):
            words = generic.split()
            short = " ".join(words[-2:]) if words[-1] == "acid" else words[-1]
            for name in (short, brand, brand.lower() + "s"):
                if glossary.lookup(f"what is {name}") is None:
                    unanswered.append(f"{key}: {name}")
    assert unanswered == []


@pytest.mark.parametrize(
    "asked,term",
    [
        ("what is ibrence", "cdk46"),  # a typo of Ibrance
        ("is verzenio chemo", "cdk46"),
        ("enhertu side effects", "trastuzumab_deruxtecan"),
        ("what is trodelvy", "adc"),
        ("xgeva", "bone_drugs"),
        ("ácido zoledrónico", "bone_drugs"),
        ("que es el acido zoledronico", "bone_drugs"),
        ("her2 0 what does that mean", "her2_ultralow"),
        ("her2 ultrabajo", "her2_ultralow"),
        ("my ca 27.29 went up", "tumor_marker"),
        ("marcador tumoral alto", "tumor_marker"),
        ("do I need an esr1 test", "esr1"),
        ("what is lynparza", "parp"),
        ("keytruda", "immunotherapy"),
        ("orserdu", "esr1_pills"),
        ("truqap", "pi3k_pills"),
        ("pd-l1", "pd_l1"),
        ("triple negative", "triple_negative"),
    ],
)
def test_the_glossary_answers_drug_and_test_names_brands_typos_and_spanish(asked, term):
    from navigator.core.glossary import Glossary

    assert Glossary(CATALOG).lookup(asked) == term


def test_triple_negative_and_her2_zero_never_sound_like_no_options():
    for language in LANGUAGES:
        triple = CATALOG.get("glossary.triple_negative.text", language).lower()
        assert "do not help" not in triple and "no le sirven" not in triple
        assert "pd-l1" in triple and "brca" in triple
    for key in ("topics.her2_low.text", "glossary.her2_ultralow.text"):
        english = " ".join(CATALOG.pages(key, "en"))
        assert "does not always rule out" in english, key
        assert "A score of 0 is not" not in english
