"""The warning signs the content review found missed or mis-routed, and the rules of the screen.

Every string here is quoted in issue 10 or in rubric section 7.5 as a message that must
get a given warning-sign reply; each row names the rule (messages/redflags.yaml) and the
language the reply must be in. These are the rules alone, the floor of safety: the
understanding step may add a sign, never lose one of these.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from navigator.core.content import LANGUAGES, load
from navigator.core.engine import Engine, Facts, Say
from navigator.core.matching import tokens
from navigator.core.menus import Position
from navigator.core.understanding import NEAR_MISS, SIGN_PREFIX, load_corpus

MESSAGES = Path(__file__).resolve().parent.parent / "messages"
CATALOG = load(MESSAGES)
ENGINE = Engine(CATALOG)

MUST_MATCH = [
    # issue 10: missed or answered with a lower-level reply
    ("back pain and i cant feel my toes", "spinal_cord", "en"),
    ("i fell and my hip hurts bad", "fracture", "en"),
    ("im really thirsty and confused", "confusion", "en"),
    ("my leg is swollen and red", "blood_clot", "en"),
    ("pierna hinchada y roja", "blood_clot", "es"),
    ("biopsy spot is red and has pus", "biopsy_infection", "en"),
    ("im bleeding from the biopsy site", "bleeding", "en"),
    ("i give up on all of this", "crisis", "en"),
    ("ya no puedo más", "crisis", "es"),
    # rubric 7.5, R1 (amend)
    ("my back hurts and i cant feel my toes", "spinal_cord", "en"),
    ("back pain and my legs feel weird", "spinal_cord", "en"),
    ("neck pain and my legs are wobbly", "spinal_cord", "en"),
    ("back hurts and i cant pee", "spinal_cord", "en"),
    ("me duele la espalda y no siento los dedos de los pies", "spinal_cord", "es"),
    ("dolor de espalda y piernas raras", "spinal_cord", "es"),
    ("me duele la espalda y no puedo orinar", "spinal_cord", "es"),
    # R14
    ("i cant pee", "urinary_retention", "en"),
    ("havent peed since yesterday", "urinary_retention", "en"),
    ("cant hold my pee", "urinary_retention", "en"),
    ("cant hold my poop", "urinary_retention", "en"),
    ("no puedo orinar desde ayer", "urinary_retention", "es"),
    # R9 (amend)
    ("I fell", "fracture", "en"),
    ("fell and my leg hurts", "fracture", "en"),
    ("can't put weight on it", "fracture", "en"),
    ("can't move my leg", "fracture", "en"),
    ("sudden bad bone pain", "fracture", "en"),
    ("me caí", "fracture", "es"),
    ("me duele mucho la cadera", "fracture", "es"),
    ("no puedo apoyar", "fracture", "es"),
    # R3 / R4 (amend): both sets of words get R4
    ("very thirsty and peeing a lot", "high_calcium", "en"),
    ("constipated and so tired", "high_calcium", "en"),
    ("mucha sed", "high_calcium", "es"),
    ("orino mucho", "high_calcium", "es"),
    ("thirsty and confused", "confusion", "en"),
    ("she is not making sense", "confusion", "en"),
    ("cant stay awake", "confusion", "en"),
    ("estoy confundida", "confusion", "es"),
    ("estoy confundido", "confusion", "es"),
    # R15
    ("my calf is swollen red and warm", "blood_clot", "en"),
    ("pierna caliente", "blood_clot", "es"),
    # R6 (amend)
    ("coughing up blood", "breathing_chest", "en"),
    ("toso sangre", "breathing_chest", "es"),
    # R7 / R8 (amend)
    ("worst headache of my life", "stroke_seizure", "en"),
    ("headache that wont go away", "headache_brain", "en"),
    ("headache worse in the morning", "headache_brain", "en"),
    ("blurry vision", "headache_brain", "en"),
    ("dolor de cabeza desde hace 3 días", "headache_brain", "es"),
    # R10 (amend) / R16
    ("bleeding from the biopsy site", "bleeding", "en"),
    ("blood soaking through the bandage", "bleeding", "en"),
    ("sangra donde me hicieron la biopsia", "bleeding", "es"),
    ("the biopsy spot is red and spreading", "biopsy_infection", "en"),
    ("biopsy site is hot and swollen", "biopsy_infection", "en"),
    ("la biopsia está roja y tiene pus", "biopsy_infection", "es"),
    # R11a: despair words, answered in the language of the words
    ("I can't do this anymore", "crisis", "en"),
    ("im giving up", "crisis", "en"),
    ("so tired of fighting", "crisis", "en"),
    ("whats the point anymore", "crisis", "en"),
    ("I just want it to be over", "crisis", "en"),
    ("they would all be better off without me", "crisis", "en"),
    ("ya no puedo mas", "crisis", "es"),
    ("no aguanto más", "crisis", "es"),
    ("no aguanto mas", "crisis", "es"),
    ("estoy cansada de luchar", "crisis", "es"),
    ("cansado de luchar", "crisis", "es"),
    ("ya no quiero seguir", "crisis", "es"),
    # R17
    ("new cough since i started enhertu", "drug_lung", "en"),
    ("coughing a lot on my cancer medicine", "drug_lung", "en"),
    ("tengo tos nueva con el enhertu", "drug_lung", "es"),
    # R1 in everyday words
    ("pain in my spine and i cant go pee", "spinal_cord", "en"),
    ("my back is sore and my leg keeps buckling", "spinal_cord", "en"),
    ("dolor de espalda y se me salió la orina", "spinal_cord", "es"),
    ("me duele la espalda y camino como borracha", "spinal_cord", "es"),
    # R18
    ("my jaw hurts", "jaw_bone", "en"),
    ("i have a loose tooth", "jaw_bone", "en"),
    ("there is bone showing in my mouth", "jaw_bone", "en"),
    ("me duele la mandíbula", "jaw_bone", "es"),
    # the rules' floor in the words the evaluation's misses used (stop 23)
    ("should i call nine one one", "emergency_question", "en"),  # a speech transcript
    ("llamo al nueve uno uno", "emergency_question", "es"),
    ("voy a la guardia o me quedo en casa", "emergency_question", "es"),
    ("i dont care if i die", "crisis", "en"),
    ("i wrote goodbye letters to my kids", "crisis", "en"),
    ("i feel like a burden to everybody", "crisis", "en"),
    ("ya les escribi cartas de despedida a mis hijos", "crisis", "es"),
    ("me quiero ir de este mundo", "crisis", "es"),
    ("unable to urinate", "urinary_retention", "en"),
    ("tried to pee for an hour nothing", "urinary_retention", "en"),
    ("me orino sin querer desde esta semana", "urinary_retention", "es"),
    ("me duele el espinazo y no me he golpeado", "back_pain", "es"),
    ("traigo la espalda adolorida toda la semana", "back_pain", "es"),
    ("no me llega el aire a los pulmones", "breathing_chest", "es"),
    ("no me para de sangrar donde me hicieron la biopsia", "bleeding", "es"),
    ("i keep almost fainting", "breathing_chest", "en"),
    ("i keep forgetting where i am and what im doing today its scary", "confusion", "en"),
    ("i keep leaking stool", "urinary_retention", "en"),
    ("se me sale la caca sin control", "urinary_retention", "es"),
    ("no me quedan ni los liquidos en el estomago", "urgent", "es"),
    ("my back has been killing me this week", "back_pain", "en"),
    ("achy back all week pls have someone call", "back_pain", "en"),
    ("i wish i could just disappear", "crisis", "en"),
    ("grandma forgot who i am this morning", "confusion", "en"),
    ("mom collapsed and her whole body was twitching", "breathing_chest", "en"),
    ("tirar la toalla es lo unico q me queda", "crisis", "es"),
    ("ya me canse de pelear contra esto", "crisis", "es"),
    ("mi papa no tiene ganas de nada y dice que mejor se muere", "crisis", "es"),
    ("me desvaneci dos veces hoy", "breathing_chest", "es"),
    ("me salio pus de donde me sacaron la muestra", "biopsy_infection", "es"),
    # stop 24: a thunderclap headache, a drooping mouth, jerking and a limb bent out of shape
    ("the worst head pain i have ever felt just hit me", "stroke_seizure", "en"),
    ("her mouth is drooping on the left", "stroke_seizure", "en"),
    ("dad started jerking in his chair", "stroke_seizure", "en"),
    ("me dio un dolor de cabeza como trueno", "stroke_seizure", "es"),
    ("tiene la boca chueca desde hace una hora", "stroke_seizure", "es"),
    ("she slipped and her wrist looks deformed", "fracture", "en"),
    ("el tobillo se le ve torcido desde ayer", "fracture", "es"),
    ("help i am suffocating", "breathing_chest", "en"),
    ("mi mama dice que se esta asfixiando", "breathing_chest", "es"),
    ("me siento un estorbo, solo soy un estorbo para todos", "crisis", "es"),
    ("since yesterday i see two of everything", "headache_brain", "en"),
    ("my husband says i keep repeating myself today", "confusion", "en"),
    ("dad got lost in his own house this morning", "confusion", "en"),
    ("mi abuela se perdió en su propia casa", "confusion", "es"),
    # stop 25: despair, a person who cannot be woken and days without food or drink, which
    # cross-validation showed only the model catching (or not)
    ("some nights i think about ending my life", "crisis", "en"),
    ("i thought about ending it last night", "crisis", "en"),
    ("a veces pienso en terminar con mi vida", "crisis", "es"),
    ("estoy harto de vivir así", "crisis", "es"),
    ("i have been thinking about not being here anymore", "crisis", "en"),
    ("a veces quisiera dormir y no despertar", "crisis", "es"),
    ("¿cuál es el punto de seguir así?", "crisis", "es"),
    ("we couldnt wake her this morning for almost an hour", "confusion", "en"),
    ("she hasnt been able to eat or drink since sunday", "urgent", "en"),
    ("mi papá no ha podido comer ni tomar desde el lunes", "urgent", "es"),
    # stop 25: confusion and R12 signs said in words that only the model read
    ("grandpa doesnt know what day it is and keeps asking for his mom", "confusion", "en"),
    ("since this morning dad is seeing people who arent there", "confusion", "en"),
    ("my aunt is talking gibberish since lunch", "confusion", "en"),
    ("we can barely wake her after her nap", "confusion", "en"),
    ("mi abuelo no sabe en qué día vive hoy", "confusion", "es"),
    ("desde anoche mi tía está alucinando", "confusion", "es"),
    ("a mi papá casi no lo podemos despertar", "confusion", "es"),
    ("mi esposa dice puras incoherencias", "confusion", "es"),
    ("my husband cant hold anything down since the chemo", "urgent", "en"),
    ("i have been vomiting for two days", "urgent", "en"),
    ("the pain in my side is horrible and new", "urgent", "en"),
    ("no he parado de vomitar desde el martes", "urgent", "es"),
    ("mi papá vomita cada vez que come", "urgent", "es"),
    ("tengo un dolor muy intenso en la panza", "urgent", "es"),
    # stop 25: stroke or seizure, breathing and bladder signs said in words only the model read
    ("out of nowhere my smile is crooked", "stroke_seizure", "en"),
    ("my whole left side went numb an hour ago", "stroke_seizure", "en"),
    ("he cant get his words out right now", "stroke_seizure", "en"),
    ("a mi abuela se le traban las palabras desde hace rato", "stroke_seizure", "es"),
    ("a mi mamá se le durmió medio cuerpo", "stroke_seizure", "es"),
    ("my dad cant get enough air even sitting down", "breathing_chest", "en"),
    ("after the dye my throat feels tight", "breathing_chest", "en"),
    ("a mi esposo no le entra el aire", "breathing_chest", "es"),
    ("tiene los labios morados mi papá", "breathing_chest", "es"),
    ("mom hasnt peed since breakfast", "urinary_retention", "en"),
    ("i keep wetting myself since monday", "urinary_retention", "en"),
    ("mi papá no ha orinado en todo el día", "urinary_retention", "es"),
    ("llevo todo el día sin orinar", "urinary_retention", "es"),
    ("my mom vomited something like coffee grounds", "bleeding", "en"),
    ("mi esposo vomitó algo como café molido", "bleeding", "es"),
    ("mi papá está echando sangre por la boca", "bleeding", "es"),
    ("the socket where they pulled my tooth still hasnt healed", "jaw_bone", "en"),
    ("im on xgeva and my tooth feels loose", "jaw_bone", "en"),
    ("tengo una llaga en la encía que no sana", "jaw_bone", "es"),
    ("me duele la espalda y ya no aguanto la pipí", "spinal_cord", "es"),
    # stop 26: phrases for the warning signs only the model caught (each in new words)
    ("honestly i cant take it any more", "crisis", "en"),
    ("last night i was reading about ways to die", "crisis", "en"),
    ("i have been saving up my pills", "crisis", "en"),
    ("some nights i hope i dont wake up", "crisis", "en"),
    ("i am just so tired of being alive", "crisis", "en"),
    ("there is no fight left in me now", "crisis", "en"),
    ("my son said he doesnt want to go on", "crisis", "en"),
    ("i wrote letters and gave away my things", "crisis", "en"),
    ("whats the use of any of it", "crisis", "en"),
    ("guardo unas pastillas guardadas por si acaso", "crisis", "es"),
    ("ojalá no despertara nunca más", "crisis", "es"),
    ("ya no soporto esta vida", "crisis", "es"),
    ("mi tío dice que no quiere vivir así", "crisis", "es"),
    ("no le veo sentido a seguir con esto", "crisis", "es"),
    ("a veces pienso en tirarme del puente", "crisis", "es"),
    ("since this morning he cant follow a conversation", "confusion", "en"),
    ("my mother didnt know how she got to the kitchen", "confusion", "en"),
    ("we shook grandpa and he barely opened his eyes", "confusion", "en"),
    ("dad isnt making sense at all tonight", "confusion", "en"),
    ("mi abuelo salió y no sabía cómo llegó a la tienda", "confusion", "es"),
    ("mi suegra no abre los ojos aunque la llamo", "confusion", "es"),
    ("mi hermana está confundida desde ayer", "confusion", "es"),
    ("all at once my arm and face went numb on the same side", "stroke_seizure", "en"),
    ("she is shaking all over and not responding", "stroke_seizure", "en"),
    ("de la nada se me fue la fuerza del brazo derecho", "stroke_seizure", "es"),
    ("my balance is off since last week", "headache_brain", "en"),
    ("mi papá anda perdiendo el equilibrio", "headache_brain", "es"),
    ("sudden pain in my thigh bone walking to the car", "fracture", "en"),
    ("me resbalé en la cocina y me duele la muñeca", "fracture", "es"),
    ("i have a new ache in my back near the bra line", "back_pain", "en"),
    ("me duele la espalda baja desde el viernes", "back_pain", "es"),
    ("the bandage is full of blood again", "bleeding", "en"),
    ("la venda de la biopsia sigue sangrando", "bleeding", "es"),
    ("constipated for days and so queasy", "high_calcium", "en"),
    ("tengo mucha sed y estoy muy cansada", "high_calcium", "es"),
]


def screened(message: str, facts: Facts | None = None):
    out = ENGINE.text(Position(), message, facts or Facts())
    flag = out.effect("red_flag")
    if flag is None:
        return None
    assert out.replies[0] == Say(f"redflags.{flag.detail}.text")
    return flag.detail, out.language


@pytest.mark.parametrize(("message", "rule", "language"), MUST_MATCH)
def test_each_warning_sign_the_review_quoted_gets_its_own_reply_in_its_language(
    message, rule, language
):
    assert screened(message) == (rule, language)


def test_red_is_never_read_as_broken():
    """ "roja" (red) is one letter from "rota" (broken): a red leg is a clot, not a fracture."""
    assert screened("tengo la pierna roja y hinchada") == ("blood_clot", "es")
    assert "rota" not in ENGINE.screen.index.word_matches("roja")


def test_no_warning_sign_word_is_read_as_a_typo_of_another_rules_word():
    """Typo tolerance may forgive a slip, never turn one sign's word into another sign's."""
    index = ENGINE.screen.index
    for word in index._exact:
        for seen in index.word_matches(word):
            if not seen.endswith("*"):  # a stem*: the word starts with it
                assert word.startswith(seen) or seen.startswith(word), (word, seen)
    assert "fell" not in index.word_matches("feel")


@pytest.mark.parametrize(
    "message",
    [
        "my mom asked if she is dying what do i tell her",
        "what do i tell my kids about the scan",
        "she tells me everything is fine",
    ],
)
def test_telling_someone_is_not_read_as_a_fall(message):
    """ "tell" is one letter from "fell": written far more often than the slip, it is read
    as written (redflags.yaml, as_written), and a fall still gets its reply."""
    assert screened(message) is None
    assert screened("i fell and my hip hurts bad") == ("fracture", "en")


@pytest.mark.parametrize(
    ("message", "language"),
    [
        ("can i fill a prescription somewhere in your building", "en"),
        ("where do i fill out the paperwork", "en"),
        ("what if i fail the breathing test in the pet", "en"),
        ("i yell at my kids when im scared", "en"),
        ("should i sell my car to pay for this", "en"),
        ("my results are overdue", "en"),
        ("im overdue for my scan", "en"),
        ("your texts are so confusing", "en"),
        ("se estan demorando demasiado con mis resultados", "es"),
    ],
)
def test_everyday_words_a_typo_away_from_a_signs_word_get_no_warning_reply(message, language):
    """One letter from a short rule word ("fill", "fail", "yell", "sell" and "fell" or "fall":
    "where do i fill out the paperwork" got "Don't put weight on it"), or two from a long
    one ("overdue" read as "overdose" got the 988 reply; "confusing" as "convulsing" and
    "demorando" as "delirando", 911). They are read as written (redflags.yaml, as_written)."""
    assert ENGINE.screen.check(message, language) is None
    assert screened(message) is None


@pytest.mark.parametrize(
    "message",
    [
        "she fell and hit her head",
        "my husband fell in the bathroom",
        "mom fell again last night",
        "my mother has fallen twice this week",
    ],
)
def test_a_caregiver_saying_someone_fell_gets_the_fracture_reply_from_the_rules(message):
    """Rubric R9: a fall is the sign, whoever writes it. "i fell" was a rule word, "she fell"
    only the model's; the rules are the floor, so they hold it too."""
    assert ENGINE.screen.check(message).rule == "fracture"
    assert screened(message) == ("fracture", "en")


def test_someone_who_fell_asleep_or_behind_gets_no_fracture_reply():
    for message in (
        "my husband fell asleep in the car on the way home",
        "she fell asleep on the couch and missed your call",
        "she fell behind on her bills",
    ):
        assert screened(message) is None, message


@pytest.mark.parametrize(
    "message",
    ["cant eat or drink before the ct right", "no puedo comer ni tomar antes del estudio?"],
)
def test_fasting_before_a_test_is_not_read_as_not_keeping_fluids_down(message):
    assert screened(message) is None


@pytest.mark.parametrize(
    "message", ["my pain is about 3 out of 10 today", "me duele poquito, como 3 de 10"]
)
def test_a_mild_pain_score_is_not_the_rules_uncontrolled_pain(message):
    """Only "10 out of 10" or "es de 10" is the R12 rule's pain, not any score out of ten.
    (The rules only: the model, trained on "pain 10 out of 10", still reads these as R12.)"""
    assert ENGINE.screen.check(message) is None


def test_no_longer_holding_urine_is_the_bladder_sign_not_despair():
    """ "ya no aguanto" is one of the crisis rule's words; "ya no aguanto la orina" (I can no
    longer hold my urine) is the bladder sign (R14), and got the 988 reply. Despair beside
    it still gets the crisis reply (messages/redflags.yaml, yields_to)."""
    assert screened("mi mamá ya no aguanta la pipí desde ayer") == ("urinary_retention", "es")
    assert screened("ya no aguanto la orina desde ayer") == ("urinary_retention", "es")
    assert screened("ya no aguanto la orina y ya no quiero vivir") == ("crisis", "es")
    assert screened("ya no aguanto más") == ("crisis", "es")


@pytest.mark.parametrize(
    ("message", "rule"),
    [
        ("el reporte dice derrame pleural pequeño", None),  # fluid by the lung, not a stroke
        ("i keep getting the chills and shaking all over", "fever"),  # rigors, not a seizure
        ("my fingers are turning blue in the cold", None),
        ("blurry vision in one eye since yesterday", "headache_brain"),  # R8, not 911
        ("i spilled the coffee grounds all over the floor", None),
        ("the hole from my port isnt healing", None),  # not the jaw
    ],
)
def test_words_near_the_911_signs_get_their_own_rule_or_none(message, rule):
    found = ENGINE.screen.check(message)
    assert (found.rule if found else None) == rule


@pytest.mark.parametrize(
    "message",
    [
        "can i keep taking them all at once with food",  # pills, not saved up
        "my grandkids are my reason to keep going",  # a reason to live
        "i could sleep all day after chemo",  # tiredness, not the wish to die
        "is driving ok after a liver biopsy",  # "driving" is not "draining"
        "the bleeding stopped right after they pressed on it",
        "my daughter fell off her bike but she is fine",
        "no me he caído solo me tropecé y estoy bien sin dolor",
        "the pharmacy is out of it until monday",
        "the report has words that dont make sense to me",
        "no sé qué día es mi cita",
        "el doctor no me contesta bien las preguntas",
        "tengo sed después de caminar",
        "i am so confused by the bill",
        "a quien llamo si mi mama se confunde",
        "my shirt is soaked again from night sweats",  # sweat, not blood
        "la cama se empapó de sudor",
        "ya no sangra, ya van dos días",
    ],
)
def test_everyday_words_near_the_new_sign_phrases_match_no_rule(message):
    """Look-alikes of the phrases added for the signs only the model caught: no rule."""
    assert ENGINE.screen.check(message) is None


def test_a_message_with_several_signs_gets_the_most_urgent_action():
    assert screened("so thirsty and confused and peeing a lot") == ("confusion", "en")
    assert screened("fever and i fell") == ("fever", "en")
    assert screened("my back hurts and i have a fever of 101") == ("fever", "en")
    assert screened("jaw pain, is this an emergency") == ("emergency_question", "en")


@pytest.mark.parametrize(
    "message",
    [
        "im a bit short of breath since i started enhertu",
        "cough and shortness of breath on my chemo",
        "out of breath since my infusion",
        "me falta el aire al caminar desde el enhertu",
        "tos y falta de aire con la quimio",
    ],
)
def test_breathlessness_on_a_cancer_medicine_gets_the_drug_lung_reply_which_keeps_911(message):
    """Rubric R17: new shortness of breath on T-DXd or datopotamab is the drug's lung
    warning: call the team today, and 911 if it is hard to breathe."""
    rule, language = screened(message)
    assert rule == "drug_lung"
    assert "911" in CATALOG.get("redflags.drug_lung.text", language)


@pytest.mark.parametrize(
    "message",
    [
        "i cant breathe since enhertu",
        "suddenly short of breath on my chemo",
        "chest pain and short of breath on enhertu",
        "so short of breath on my cancer medicine",
        "de repente me falta el aire con la quimio",
        "no puedo respirar desde el enhertu",
        "short of breath",  # no medicine named: R6
    ],
)
def test_sudden_or_severe_breathlessness_stays_a_911_sign_on_any_medicine(message):
    assert screened(message)[0] == "breathing_chest"


def test_the_wish_to_live_and_leaving_the_texts_are_not_read_as_despair():
    """Fear of dying said with the crisis rule's words gets the fear answer, and leaving the
    texts gets the opt-out answer (context.yaml, not_the_sign); despair beside either is
    still a crisis."""
    fear = ENGINE.understanding.read("no me quiero morir", "es")
    assert (fear.signs, fear.set_aside, fear.intent) == ((), ("crisis",), "prognosis_fear")
    leaving = ENGINE.understanding.read("ya no quiero seguir recibiendo estos mensajes", "es")
    assert (leaving.signs, leaving.intent) == ((), "opt_out")
    assert screened("no quiero morir pero ya no puedo mas")[0] == "crisis"
    assert screened("i dont want to die but i want to end it all")[0] == "crisis"
    assert screened("ya no quiero seguir")[0] == "crisis"


@pytest.mark.parametrize(
    "message",
    [
        "how long does the lab take for the er pr her2 testing",
        "what does the er positive mean",
        "can i change my emergency contact",
        "quiero cambiar mi contacto de emergencia",
    ],
)
def test_the_estrogen_receptor_and_an_emergency_contact_get_no_911_reply(message):
    """ER is also the estrogen receptor, tested again on every recurrence, and an emergency
    contact is a name on a form (context.yaml, not_the_sign): no "call 911" for either."""
    assert screened(message) is None


def test_a_real_emergency_question_beside_those_words_still_gets_the_911_reply():
    assert screened("should i go to the er")[0] == "emergency_question"
    assert screened("my er test came back and now should i go to the er")[0] == "emergency_question"
    assert screened("llamé a mi contacto de emergencia, debo ir a urgencias")[0] == (
        "emergency_question"
    )


def test_the_rules_run_from_the_most_urgent_action_to_the_least():
    urgency = {"911": 0, "988": 0, "care_team_now": 1, "care_team_today": 2, "care_team_soon": 3}
    actions = [
        str(rule["action"])
        for rule in CATALOG.redflag_rules
        if rule["id"] != "emergency_question"  # a question, placed by its comment
    ]
    ranks = [urgency[action] for action in actions]
    assert ranks == sorted(ranks)


def test_every_rule_has_a_text_and_a_spoken_reply_in_every_language():
    for rule in CATALOG.redflag_rules:
        for language in LANGUAGES:
            assert CATALOG.render(f"redflags.{rule['id']}.text", language, care_team="x")
            assert CATALOG.render(f"redflags.{rule['id']}.say", language, care_team="x")


def test_spoken_replies_match_what_the_call_does_next():
    """A 911 reply says "hang up and call nine one one" and the call ends; every other
    reply says to stay on the line, because the call is then put through to the team."""
    hang_up = {"en": "hang up and call nine one one", "es": "cuelgue y llame al nueve uno uno"}
    stay = {"en": "stay on the line", "es": "quédese en la línea"}
    for rule in CATALOG.redflag_rules:
        for language in LANGUAGES:
            said = CATALOG.render(f"redflags.{rule['id']}.say", language, care_team="x").lower()
            assert "911" not in said and "988" not in said, (rule["id"], language)
            if str(rule["action"]) == "911":
                assert hang_up[language] in said and stay[language] not in said, rule["id"]
            else:
                assert stay[language] in said, (rule["id"], language)


def test_every_rule_words_file_lists_the_same_rules_in_both_languages():
    order = {rule["id"] for rule in CATALOG.redflag_rules}
    for language in LANGUAGES:
        words = yaml.safe_load((MESSAGES / language / "redflags.yaml").read_text("utf-8"))
        assert set(words) - {"as_written"} == order
        for rule in order:
            assert all(tokens(w) for entry in words[rule]["match"] for g in entry for w in g)


@pytest.mark.parametrize(
    "message",
    ["is hospice the same as giving up", "does palliative care mean giving up on my mom"],
)
def test_asking_whether_hospice_means_giving_up_gets_the_hospice_answer_not_the_crisis_line(
    message,
):
    """ "giving up" is a crisis rule's words; asking whether hospice means giving up is a
    question about care (context.yaml, not_the_sign), answered with what hospice is."""
    out = ENGINE.text(Position(), message, Facts())
    assert out.effect("red_flag") is None
    assert Say("answers.palliative_hospice") in out.replies


def test_giving_up_said_of_oneself_beside_that_question_still_gets_the_crisis_line():
    assert screened("i am giving up, does hospice mean giving up")[0] == "crisis"
    assert screened("i feel like giving up")[0] == "crisis"


def test_no_everyday_message_of_the_corpus_gets_a_warning_rule_through_a_typo_alone():
    """Typo tolerance is for a frightened person's slips ("brething"), not for everyday
    words a letter or two from a sign's ("fill" and "fall", "overdue" and "overdose").
    Every question, reply and complaint in the corpus that a rule matches must match it
    by at least one phrase as written; near misses ("no fever") are the context step's."""
    screen = ENGINE.screen
    through_typos = []
    for example in load_corpus(MESSAGES):
        if example.label.startswith(SIGN_PREFIX) or example.label == NEAR_MISS:
            continue
        flag = screen.check(example.text, example.language)
        if flag is None:
            continue
        found = screen.occurrences(example.text, flag.rule)
        if found and all(match.typos for match in found):
            through_typos.append((example.text, flag.rule))
    assert not through_typos
