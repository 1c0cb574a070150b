"""The understanding step on its own: pure, deterministic, never older than its corpus,
and as good as the tests hold it to be on the part of the corpus it never saw."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from navigator.catalog import catalog
from navigator.core import understanding_evaluation as evaluation
from navigator.core.content import load
from navigator.core.screening import Screen
from navigator.core.understanding import (
    IN_USE,
    Model,
    Thresholds,
    Understanding,
    clean,
    corpus_hash,
    detect_language,
    load_corpus,
    model_for,
)

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = ROOT / "messages"
SCREEN = Screen(load(MESSAGES))
READER = Understanding(MESSAGES, SCREEN)


def test_the_words_are_cleaned_before_they_are_read():
    assert clean("  i cant\x00 come\n\n thursday  ") == "i cant come thursday"
    assert len(clean("x" * 5000)) == 1000


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("i wont make it to my scan thursday", "new_time"),
        ("running 20 min late for my ct", "running_late"),
        ("when do i get my results", "results_when"),
        ("im scared is this the end", "prognosis_fear"),
        ("what is this service", "who_is_this"),
        ("am i allowed to have coffee before the ct", "prep_eating"),
    ],
)
def test_everyday_questions_from_the_review_are_read_as_what_they_ask(message, intent):
    reading = READER.read(message)
    assert (reading.intent, reading.understood, reading.signs) == (intent, True, ())


def test_the_test_a_message_is_about_is_found_whatever_the_words():
    assert READER.read("cant make my biopsy").topic == "biopsy"
    assert READER.read("puedo tomar cafe antes de la tomografia").topic == "ct"


def test_a_near_miss_is_set_aside_only_when_the_model_is_sure():
    reading = READER.read("its 38 degrees out there bundle up")
    assert reading.signs == () and reading.set_aside == ("fever",)
    assert READER.read("fever of 101 and chills").signs == ("fever",)


@pytest.mark.parametrize(
    ("message", "why"),
    [
        ("no fever today, 98.1", ("negated",)),
        ("the fever is gone since sunday", ("negated",)),
        ("my cat has a fever the vet says", ("other",)),
        ("my uncle had a stroke in 2019", ("other", "past")),
        ("what if i get a fever after chemo", ("hypothetical",)),
        ("no tengo fiebre ni escalofrios", ("negated",)),
        ("mi perro tiene fiebre", ("other",)),
        ("my brother had a seizure when he was a teenager", ("other", "past")),
        ("hace dos años me cai y me fracture la muñeca", ("past",)),
        ("hace 38 grados en la sombra", ("other",)),
        ("el bebe de mi vecina tiene calentura", ("other",)),
        # a question that opens with the sign's own first words ("y si me falta" + "me falta
        # el aire"): a question, though it shares words with the sign
        ("y si me falta el aire con la medicina nueva", ("hypothetical",)),
        ("y si me duele el pecho que hago", ("hypothetical",)),
    ],
)
def test_the_context_of_a_signs_words_is_read(message, why):
    flag = SCREEN.check(message)
    assert READER.context.reasons(message, SCREEN.sign_words(message, flag.rule)) == why
    assert READER.context.of_entries(message, SCREEN.sign_word_groups(message, flag.rule)) == why


@pytest.mark.parametrize(
    ("message", "rule", "language"),
    [
        ("the biopsy went fine no bleeding", "bleeding", "en"),
        ("la quijada bien sin dolor", "jaw_bone", "es"),
    ],
)
def test_a_rule_of_words_that_must_go_together_is_read_away_when_one_of_them_is_denied(
    message, rule, language
):
    """ "biopsy" and "bleeding" are one rule's words that must both be there: no bleeding
    means no bleeding at the biopsy, though the biopsy itself is not denied (before, the
    undenied "biopsy" kept the alert, and read as a second mention, made the reading unsure)."""
    groups = SCREEN.sign_word_groups(message, rule)
    assert len(groups[0]) == 2
    assert READER.context.of_entries(message, groups) == ("negated",)
    reading = READER.read(message, language)
    assert reading.signs == () and reading.set_aside == (rule,)
    assert reading.context == ("negated",)


@pytest.mark.parametrize(
    ("message", "sign", "language"),
    [
        ("no fever but i cant breathe", "breathing_chest", "en"),
        ("no fever but my chest hurts bad", "breathing_chest", "en"),
        ("no pain but the biopsy site is bleeding a lot", "bleeding", "en"),
        ("sin fiebre pero me sangra la biopsia", "bleeding", "es"),
        ("ya no tengo fuerzas para nada mejor me muero", "crisis", "es"),
    ],
)
def test_a_denial_said_first_never_silences_the_sign_after_it(message, sign, language):
    """The model, sure of a near miss once it sees a denial, set these aside on its own;
    a denial that comes before the sign's words without reaching them now keeps it."""
    reading = READER.read(message, language)
    assert reading.signs[0] == sign and reading.set_aside == ()


@pytest.mark.parametrize(
    "message",
    [
        "my mom has a fever",  # a caregiver writing for the patient: a relative now is not "someone else"
        "no fever yesterday but fever of 101 now",  # the second "fever" stands bare
        "i have never had chest pain like this",  # "never ... like this" is no denial
        "i cant breathe",  # a sign's own words are never its cue
        "no puedo respirar",
        "el sangrado no para",
        "no fever and my chest hurts",  # "and" ends the denial's reach
        "i had a fever last week and now its back",  # "now", "back": no longer long over
        "anoche me dio fiebre de 38.7",  # a fever's number: never set aside by the model alone
        "she had a seizure as a teenager and just had another one",  # "just had": not over
        "she put her shoes in the fridge and doesnt know where she is",  # a fridge is no cue
        "el carro esta descompuesto y tengo mucha fiebre",  # a car beside it: still her fever
        "the baby and i both have a fever",
        "i was walking the dog and fell and my hip hurts",  # the writer's own fall
        "new back ache no injury",  # a denial after the sign's words reaches back to none
        "i had a seizure this morning ive never had one before",
        "la nausea y el vomito no paran con la pastilla",
        "para que sigo si no hay caso",
        "me falta el aire y si me muevo peor",  # the question comes after: the sign stands
        # "again", "now": not only a question
        "if mom gets confused again who do i call she is confused now",
    ],
)
def test_the_context_never_reads_a_current_sign_as_a_near_miss(message):
    flag = SCREEN.check(message)
    assert READER.context.reasons(message, SCREEN.sign_words(message, flag.rule)) == ()
    assert READER.context.of_entries(message, SCREEN.sign_word_groups(message, flag.rule)) == ()
    assert READER.read(message).signs


@pytest.mark.parametrize(
    ("message", "language"),
    [("banana airplane seventeen", "en"), ("la tetera morada en la luna", "es")],
)
def test_words_the_model_knows_nothing_of_raise_no_warning_sign(message, language):
    """Spread thin over the sign labels, their sum once passed ADD_SIGN and a random sign
    got its reply (a 911 one, for a teapot): the sign added must be more than noise
    (understanding.SIGN_NOISE). The reading is unsure, so a person reads it."""
    reading = READER.read(message, language)
    assert reading.signs == () and not reading.understood


def test_a_confident_reading_of_what_the_person_wants_is_not_turned_into_a_sign():
    """Held-out everyday messages ("me estan vendiendo algo", "money is tight i dont know if
    i can keep coming") got a warning sign from the doubt left over a confident reading: the
    sign labels together passed ADD_SIGN while the model was sure of who-is-this or cost.
    When no rule matched and the model is at least INTENT_HOLDS sure of one thing the person
    wants, it adds no sign; below that, or when a rule matched, the safer reading stands."""
    ranked = [("cost_insurance", 0.55), ("sign_confusion", 0.2), ("sign_crisis", 0.1)]
    ranked += [("other", 0.15)]
    assert READER._signs(None, ranked, "money is tight")[0] == ()
    without = Understanding(
        MESSAGES, SCREEN, model=READER.model, thresholds=Thresholds(intent_holds=1.0)
    )
    assert without._signs(None, ranked, "money is tight")[0] == ("confusion",)
    unsure = [("other", 0.24), ("cost_insurance", 0.23), ("sign_confusion", 0.23)]
    unsure += [("sign_crisis", 0.05)]
    assert READER._signs(None, unsure, "money is tight")[0] == ("confusion",)
    # where the context read a rule's words away, the model's own sign is never held back
    assert READER._added(ranked, "money is tight", 0.0, 0.25) == ("confusion",)


@pytest.mark.parametrize(
    "message",
    [
        "my back is doing great today",
        "my hips and back are doing ok this week",
        "i had a fever last month but im fine now",
        "havent thrown up once, all good here",
        "todo bien no tengo sintomas",
        "corri por el camion y me quede sin aire pero ya estoy bien",
        "la espalda esta mucho mejor esta semana",
    ],
)
def test_a_person_saying_they_are_fine_gets_no_sign_the_rules_did_not_see(message):
    """Where no rule matched, the model added signs to people telling us they were well
    ("my back is doing great today": back pain), a third of the near-miss false alarms.
    Said last, being fine is a cue of its own (context.yaml ``reassured``); the model's sign
    is not added, whatever it gives it."""
    sure_of_a_sign = [("sign_back_pain", 0.7), ("no_sign", 0.1), ("other", 0.2)]
    assert "negated" in READER.context.anywhere(message)
    assert READER._added(sure_of_a_sign, message, 0.1) == ()


@pytest.mark.parametrize(
    "message",
    [
        "im not ok",
        "i dont feel good at all",
        "algo no esta bien me siento peor que nunca",
        "no me siento bien",
        "im fine but i cant stop shaking",
        "estoy bien pero ya no siento las piernas",
        "i cant walk anymore",
        "ya no siento las piernas",
        "sin poder respirar bien",
    ],
)
def test_being_fine_denied_or_turned_by_what_follows_leaves_the_models_sign(message):
    """ "Not ok", "no me siento bien" say the opposite, and a "but" after being fine turns
    it; "anymore", "ya no" and "sin" are never a sign of being well ("ya no siento las
    piernas" is a spinal cord sign)."""
    sure_of_a_sign = [("sign_spinal_cord", 0.7), ("no_sign", 0.1), ("other", 0.2)]
    assert "negated" not in READER.context.anywhere(message)
    assert READER._added(sure_of_a_sign, message, 0.1) == ("spinal_cord",)


def test_a_language_word_the_corpus_barely_holds_still_reads_as_a_change_of_language():
    """ "quiero cambiar el idioma" read as a new time ("cambiar" outweighed "idioma") and "en
    castellano por favor" as talk to a person. Every word of the language lookup list
    (slots.yaml) gives the model one shared mark, so a word seen once or never
    ("traductor") borrows what it learnt from the rest."""
    slots = READER.slots
    assert "lookup_language" in slots.marks("necesito un traductor")
    assert "lookup_language" in slots.marks("en castellano por favor")
    assert "lookup_language" not in slots.marks("can i change my appointment")
    assert "lookup_language" not in slots.marks("cambiar la cita")  # never a typo's match
    for message in ("necesito un traductor para la cita", "could i get these in spanish"):
        assert READER.read(message).intent == "change_language", message


def test_a_stated_fever_is_set_aside_only_when_the_words_say_it_is_not_a_persons():
    """A question or a denial in another clause ("what if i get a fever?") does not make a
    temperature in the fever range ("101 right now") any less the person's; the weather's
    or a pet's does ("its 38 degrees out there")."""
    reading = READER.read("what if i get a fever? i have 101 right now")
    assert reading.signs == ("fever",) and reading.set_aside == ()
    assert READER.read("its 38 degrees out there bundle up").set_aside == ("fever",)


def test_a_rule_read_away_by_its_context_still_leaves_the_model_its_own_sign():
    """ "i fell asleep" reads the fall away, but the model still reads a sign in the rest of
    the message (no rule names waking unable to move): unsure, so a sign is answered."""
    reading = READER.read("i fell asleep and woke up and cant move my legs")
    assert reading.signs and reading.set_aside == ()


def test_a_headache_described_as_a_headache_is_not_read_as_a_figure_of_speech():
    reading = READER.read("it is a headache like nothing before, worst ever")
    assert "headache_brain" in reading.signs and reading.set_aside == ()


def test_words_that_name_something_else_are_not_a_sign():
    """ "fell asleep" or "se cayo la llamada" hold a fall's words but name no fall."""
    for message in ("i fell asleep on the couch and missed your call", "se cayo la llamada"):
        assert SCREEN.check(message) is not None
        assert READER.read(message).signs == ()


def test_a_rule_is_set_aside_when_context_and_model_agree_and_the_reading_says_why():
    reading = READER.read("no fever no chills all good today")
    assert reading.signs == () and reading.set_aside == ("fever",)
    assert reading.context == ("negated",)


def test_crisis_words_in_spanish_reach_the_crisis_rule_whatever_the_model_says():
    for message in ("a veces pienso en tomarme todas las pastillas", "nadie me va a extrañar"):
        assert SCREEN.check(message).rule == "crisis"
        assert READER.read(message, "es").signs == ("crisis",)


def test_a_blood_thinner_question_before_a_biopsy_is_a_preparation_question():
    reading = READER.read("can i take my eliquis before the biopsy")
    assert reading.signs == () and reading.intent == "prep_blood_thinners"


def test_a_blood_thinner_named_beside_a_biopsy_is_not_blood_at_the_biopsy():
    reading = READER.read("im on blood thinners do i stop them before my liver biopsy")
    assert reading.signs == () and reading.set_aside == ("bleeding",)
    assert reading.intent == "prep_blood_thinners" and reading.context == ("other",)
    assert READER.read("im on blood thinners and bleeding from the biopsy").signs == ("bleeding",)


def test_a_more_urgent_sign_the_model_is_sure_of_is_answered_before_the_rules_one():
    message = "me duele la espalda y no me responden las piernas"
    assert SCREEN.check(message).rule == "back_pain"
    reading = READER.read(message, "es")
    assert reading.signs == ("spinal_cord", "back_pain")
    assert reading.sign_action == "care_team_now"


def test_a_sign_the_rules_miss_is_added_by_the_model():
    reading = READER.read("i feel like a truck hit me and im burning up and shivering")
    assert reading.signs and reading.sign_action is not None


def test_the_language_is_detected_for_english_and_spanish_and_a_chosen_one_wins():
    assert detect_language("cuando me dan los resultados de la biopsia") == "es"
    assert detect_language("when will i get the results of my biopsy") == "en"
    assert READER.read("cuando me dan los resultados", "en").language == "es"
    assert READER.read("cuando me dan los resultados", "en", chosen=True).language == "en"


def test_training_is_deterministic():
    examples = load_corpus(MESSAGES)
    first = evaluation.train(examples[:400], READER.slots)
    second = evaluation.train(examples[:400], READER.slots)
    texts = ["when is my ct", "ya no puedo mas", "hola"]
    assert (first.predict_proba(texts) == second.predict_proba(texts)).all()


def test_reading_without_scikit_learn_gives_exactly_its_probabilities(tmp_path):
    """The web process reads with plain arrays loaded from the cache file; they must say
    what the pipeline says, the first time a word is seen and when it is remembered."""
    examples = load_corpus(MESSAGES)
    pipeline = evaluation.train(examples[::3], READER.slots)
    Model.from_pipeline(pipeline, READER.slots, "x").save(tmp_path / "model.npz")
    model = Model.load(tmp_path / "model.npz", READER.slots, "x")
    texts = [READER.slots.mask(e.text) for e in examples[1::7]] + ["", "ñandú ¿qué?", "x"]
    expected = pipeline.predict_proba(texts)
    for _ in range(2):
        for text, probabilities in zip(texts, expected, strict=True):
            assert abs(probabilities - model.probabilities(text)).max() < 1e-9


def test_web_workers_starting_at_once_on_a_cold_cache_all_save_the_model(tmp_path, monkeypatch):
    """gunicorn starts its workers together; each trains and saves the same file. One
    finishing its save while another is half-way must not make the other fail to start."""
    model = READER.model
    target = tmp_path / "cache" / "model.npz"
    replace = Path.replace
    others = []

    def another_worker_saves_first(self, destination):
        if not others:
            others.append(destination)
            model.save(destination)
        return replace(self, destination)

    monkeypatch.setattr(Path, "replace", another_worker_saves_first)
    model.save(target)
    assert Model.load(target, READER.slots, "v").labels == model.labels
    assert [p.name for p in target.parent.iterdir()] == ["model.npz"]


def test_the_model_in_use_is_never_older_than_the_corpus(tmp_path):
    """Edit the corpus and the next reading comes from a model trained on the edit."""
    root = tmp_path / "messages"
    shutil.copytree(MESSAGES, root)
    cache = tmp_path / "cache"
    before = model_for(root, cache)
    assert (cache / f"understanding-{before.version}.npz").exists()
    assert Model.load(cache / f"understanding-{before.version}.npz", READER.slots, "v").labels
    extra = root / "understanding" / "corpus" / "en" / "zz_new.yaml"
    extra.write_text(
        "nlu:\n- intent: thanks_bye\n  examples: |\n"
        + "".join(f"    - zorblax {i} thanks friend\n" for i in range(30)),
        "utf-8",
    )
    after = model_for(root, cache)
    assert after.version == corpus_hash(root) != before.version
    assert after.ranked("zorblax thanks friend")[0][0] == "thanks_bye"


def test_the_model_is_made_again_when_its_slot_words_or_context_cues_change(tmp_path):
    """The model reads the masked test names and the context cues' marks as well as the
    corpus: editing either file must give a new model, as editing the corpus does."""
    root = tmp_path / "messages"
    shutil.copytree(MESSAGES, root)
    versions = {corpus_hash(root)}
    for name in ("context.yaml", "slots.yaml"):
        path = root / "understanding" / name
        path.write_text(path.read_text("utf-8") + "\n# edited\n", "utf-8")
        versions.add(corpus_hash(root))
    assert len(versions) == 3


def test_the_model_is_told_which_words_a_context_cue_reaches():
    """The cue's marks tell "no bleeding at all" from "bleeding", whose n-grams are alike."""
    features = READER.context.features
    assert "negated_bleeding" in features("no bleeding at all from the biopsy spot")
    assert "negated_bleeding" not in features("no one came and now the biopsy spot is bleeding")
    assert "other_fever" in features("the cat has a fever")
    assert "hypothetical_fever" in features("what if i get a fever")
    assert features("it wont stop bleeding") == ["pseudo"]
    assert features("the biopsy spot is bleeding") == []


@pytest.mark.parametrize(
    ("message", "language"),
    [
        ("i dont have any fever or chills", "en"),
        ("no fever or chills", "en"),
        ("the redness around the biopsy is gone", "en"),
        ("sin fiebre y sin escalofrios", "es"),
        ("nada de sangre en la curita", "es"),
    ],
)
def test_a_sign_denied_in_the_persons_own_words_raises_no_alert(message, language):
    """Read with the context cues' marks, the model agrees with the cue, and adds no sign of
    its own (before, it gave the sign's words a sign: an alert for "no fever")."""
    reading = READER.read(message, language)
    assert reading.signs == () and reading.intent == "no_sign"


def test_a_sign_after_a_phrase_that_only_looks_like_a_denial_is_still_a_sign():
    assert READER.read("no one told me but i have chest pain").signs == ("breathing_chest",)


def test_the_understanding_step_imports_no_flask_database_or_twilio():
    forbidden = {"flask", "flask_login", "sqlalchemy", "twilio", ".models", ".extensions"}
    for name in ("understanding.py", "understanding_evaluation.py"):
        tree = ast.parse((ROOT / "navigator" / "core" / name).read_text("utf-8"))
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add(("." * node.level) + (node.module or "").split(".")[0])
        assert not imported & forbidden, (name, imported & forbidden)


def test_the_reminder_worker_never_loads_scikit_learn(tmp_path):
    code = (
        "import sys, navigator.scheduler as s; from navigator.app import create_app; "
        f"app = create_app({{'SQLALCHEMY_DATABASE_URI': 'sqlite:///{tmp_path}/w.db'}}); "
        "print('sklearn' in sys.modules, 'numpy' in sys.modules)"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()[-2:]
    assert found == ["False", "False"]


@pytest.fixture(scope="module")
def held_out():
    return evaluation.held_out(MESSAGES, SCREEN, load_corpus(MESSAGES))


def test_warning_sign_recall_on_the_held_out_part_is_at_least_98_percent(held_out):
    assert held_out.sign_recall >= 0.98


def test_near_miss_false_alarms_on_the_held_out_part_are_at_most_10_percent(held_out):
    """The issue's line (0.067 held out and 0.064 cross-validated since stop 26); everyday
    messages that get a warning reply are held a little over the 0.009 measured. The
    held-out part is drawn again whenever the corpus changes, and each held-out near miss
    is worth about 0.01."""
    assert held_out.near_miss_false_alarms <= 0.10
    assert held_out.other_false_alarms <= 0.02
    text = evaluation.report("held out", held_out)
    assert "warning-sign recall" in text and "false alarms on near misses" in text


def test_every_intents_f1_on_the_held_out_part_is_at_least_85_percent(held_out):
    """The issue's line, scored as the navigator acts (understanding_evaluation._acted), with
    thresholds chosen on the training part only. Since stop 26: lowest 0.857 ("other"),
    macro 0.924. The margin is thin: cross-validated, the lowest is 0.830 ("other",
    prognosis_fear and results_portal under 0.85; docs/conversation.md), so a corpus change
    that draws the held-out part again can land under the line, and this test says so."""
    macro, lowest = held_out.f1_summary()
    rows = held_out.per_label().items()
    below = {label: round(row[2], 3) for label, row in rows if row[2] < 0.85}
    assert lowest >= 0.85, below
    assert macro >= 0.91


def test_the_evaluation_says_what_it_merges_and_shows_every_label_as_written(held_out):
    """Scoring no_sign as other where no rule matched is the one merge, because the engine
    answers both alike there; the report says so and prints each label as labelled too, so
    a reviewer can see what the merge changes."""
    text = evaluation.report("held out", held_out)
    assert evaluation.MERGED in text
    no_sign = next(line for line in text.splitlines() if line.startswith("no_sign "))
    assert no_sign.count("|") == 1 and len(no_sign.split("|")[1].split()) == 4


def test_thresholds_are_chosen_on_the_training_part_only_and_keep_the_sign_recall(monkeypatch):
    """`flask understanding thresholds`: every point is read on the training part's folds,
    never on the held-out part; the choice keeps warning-sign recall at 0.98 when a point
    does, is within a hair of the fewest near-miss false alarms, and of those has the best
    lowest F1 (issue 10 holds every intent's F1)."""
    examples = load_corpus(MESSAGES)[::4]
    _, held_out_part = evaluation.split(examples)
    never = {e.text for e in held_out_part}
    read = []
    score = evaluation.score

    def reading(root, screen, model, part, thresholds):
        read.extend(e.text for e in part)
        return score(root, screen, model, part, thresholds)

    monkeypatch.setattr(evaluation, "score", reading)
    grid = {"near_miss_veto": (0.45, 0.99), "add_sign": (0.25, 0.6)}
    trials, chosen = evaluation.choose_thresholds(MESSAGES, SCREEN, examples, grid, folds=2)
    assert len(trials) == 4 and read and not never.intersection(read)
    safe = [t for t in trials if t.recall >= evaluation.LEAST_RECALL] or trials
    if safe is trials:
        assert chosen.recall == max(t.recall for t in trials)
    else:
        fewest = min(t.near_misses for t in safe)
        tied = [t for t in safe if t.near_misses <= fewest + evaluation.NEAR_MISS_TIE]
        assert chosen in tied and chosen.lowest_f1 == max(t.lowest_f1 for t in tied)


def test_the_thresholds_command_prints_each_point_the_choice_and_the_values_in_use(
    app, monkeypatch
):
    trial = evaluation.Trial(IN_USE, 0.99, 0.05, 0.02)
    monkeypatch.setattr(evaluation, "choose_thresholds", lambda *a, **k: ([trial], trial))
    result = app.test_cli_runner().invoke(args=["understanding", "thresholds", "--folds", "2"])
    assert result.exit_code == 0, result.output
    assert "0.990 0.050" in result.output
    assert f"chosen: {IN_USE}" in result.output and f"in use: {IN_USE}" in result.output


def test_the_release_step_trains_the_model_into_the_cache_the_web_workers_load(app, tmp_path):
    """`flask understanding train` (Procfile release, scripts/start) leaves the model for
    today's corpus on disk, so a web worker never trains while gunicorn waits for it."""
    app.extensions["content"].model_cache = tmp_path / "cache"
    result = app.test_cli_runner().invoke(args=["understanding", "train"])
    assert result.exit_code == 0, result.output
    version = corpus_hash(catalog().root)
    assert (tmp_path / "cache" / f"understanding-{version}.npz").is_file()


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("i dont want reminders anymore", "opt_out"),
        ("i fell asleep", "no_sign"),
        ("my back is fine", "no_sign"),
    ],
)
def test_everyday_messages_that_sound_like_a_sign_put_no_alert_in_the_inbox(message, intent):
    reading = READER.read(message)
    assert (reading.signs, reading.intent) == ((), intent)


def test_a_real_fall_is_still_a_sign_even_after_falling_asleep():
    assert READER.read("i fell asleep and now my hip hurts bad").signs == ("fracture",)
    assert READER.read("i fell and my hip hurts").signs == ("fracture",)


def test_a_web_worker_reads_from_the_cached_model_without_scikit_learn_and_starts_fast():
    """At start-up a web worker loads the cached model (no training, no scikit-learn) and
    is reading in a fraction of the 2 s budget, measured in CPU time so that a loaded
    machine does not fail it; the quick language detector is ready with it."""
    cache = ROOT / "instance" / "understanding"
    model_for(MESSAGES, cache)  # the release step's file (trained here only if missing)
    code = f"""
import sys, time
from pathlib import Path
from navigator.core.content import load
from navigator.core.screening import Screen
from navigator.core.understanding import Understanding
root = Path({str(MESSAGES)!r})
reader = Understanding(root, Screen(load(root)), cache_dir=Path({str(cache)!r}))
cpu = time.thread_time()
reader.warm(quick=True)
cpu = time.thread_time() - cpu
reading = reader.read("cuando me dan los resultados")
print(cpu, "sklearn" in sys.modules, reading.intent, reading.language)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert float(out[0]) < 1.0
    assert out[1:] == ["False", "results_when", "es"]
