"""The conversation: what an inbound text or a caller's answer means, and what comes back.

Pure logic. In: where the person is in the menu, what they sent, and a few facts about
them. Out: where they are next, which content to send (by key), and the effects the
web layer must carry out (record an opt-out, raise an alert...). Nothing here knows
about SMS, voice, Flask or the database, so both channels share every rule.

The order of handling is the product's safety policy:
1. the reading (understanding.py): warning signs before anything, STOP included;
2. after a STOP, nothing more is said until START (a warning sign still reaches the inbox);
3. carrier keywords: STOP, START, HELP;
4. language, a person, menu moves, the patient's own visit;
5. what the person wants, in their own words (the reading's intent), and glossary
   questions; when the reading is unsure, an enrolled patient's words go to a person
   ("a question for a person") and they are told who will answer and when.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from . import menus
from .content import LANGUAGES, Catalog
from .glossary import Glossary
from .keywords import Keywords
from .matching import PhraseIndex
from .menus import Position
from .screening import Screen
from .understanding import NEAR_MISS, Reading, Understanding

#: On the phone, the key that plays the next part of a long topic ("To hear more, press 1").
MORE_KEY = "1"


@dataclass(frozen=True)
class Facts:
    """What the engine may know about the person, nothing more."""

    language: str = "en"
    language_chosen: bool = False
    opted_out: bool = False
    enrolled: bool = False


@dataclass(frozen=True)
class Say:
    """One piece of content to send: a key and the values for its placeholders."""

    key: str
    values: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Show:
    """Show a menu node (its text page and, for menus, its options)."""

    position: Position


@dataclass(frozen=True)
class Effect:
    # red_flag | opt_out | opt_in | set_language | callback | next_appointment
    # | appointment_reply; on the phone also person | hang_up | text_me | no_match
    kind: str
    detail: str = ""
    number: int | None = None
    topic: str | None = None  # the kind of appointment the words name (understanding.py)


@dataclass
class Outcome:
    position: Position
    language: str
    replies: list = field(default_factory=list)  # Say and Show items, in order
    effects: list[Effect] = field(default_factory=list)
    reading: Reading | None = None  # how free text was read, when it was

    def effect(self, kind: str) -> Effect | None:
        return next((e for e in self.effects if e.kind == kind), None)


class Engine:
    """Compiled once per content catalog (matching indexes are built here)."""

    def __init__(self, catalog: Catalog, model_cache=None):
        self.catalog = catalog
        self.screen = Screen(catalog)
        self.understanding = Understanding(catalog.root, self.screen, cache_dir=model_cache)
        self.intents = _intent_table(catalog.root)
        self.glossary = Glossary(catalog)
        self.keywords = Keywords(catalog.keywords)
        self.node_words = self._node_word_index(catalog)

    @staticmethod
    def _node_word_index(catalog: Catalog) -> PhraseIndex:
        words: dict[str, str] = {}
        for node_id, spoken in (catalog.keywords.get("spoken_nodes") or {}).items():
            for word in spoken:
                words.setdefault(word, node_id)
        for language in LANGUAGES:
            for node_id in catalog.nodes:
                words.setdefault(catalog.get(f"topics.{node_id}.label", language), node_id)
        index = PhraseIndex(words)
        index.nodes = {phrase: words[phrase] for phrase in index.phrases}
        return index

    # -- text messages -------------------------------------------------------------

    def text(self, here: Position, message: str, facts: Facts) -> Outcome:
        """What to do with one inbound text."""
        language = facts.language
        out = Outcome(here, language)
        kinds = self.keywords.kinds(message)
        # A menu number or a keyword is read by the rules alone (only a sign changes it).
        free_text = not kinds and not message.strip().rstrip(".").isdigit()
        reading = out.reading = self.understanding.read(
            message, facts.language, facts.language_chosen, model=free_text
        )
        if facts.opted_out and "opt_in" not in kinds:
            return self._after_stop(out, reading, message)
        if reading.signs:
            if not facts.language_chosen:
                out.language = reading.language
            out.effects.append(Effect("red_flag", reading.sign))
            out.replies.append(Say(f"redflags.{reading.sign}.text"))
            if self.keywords.asks_to_stop(message):
                self._opt_out(out)
            return out

        self._answer_in_their_language(out, message, facts, None)  # "PARA", "AYUDA", "hola"
        if self.keywords.asks_to_stop(message):
            # "no me escriban" is confirmed in Spanish, "please stop texting" in English.
            request = self.keywords.stop_request_language(message)
            self._answer_in_their_language(out, message, facts, request)
            return self._opt_out(out)
        if "opt_in" in kinds and (facts.opted_out or "confirm" not in kinds):
            out.effects.append(Effect("opt_in"))
            out.replies.append(Say("prompts.sms.start"))
            return out
        if "help" in kinds:
            out.replies.append(Say("prompts.sms.help"))
            return out
        for kind, new_language in (("spanish", "es"), ("english", "en")):
            if kind in kinds:
                out.language = new_language
                out.position = Position()
                out.effects.append(Effect("set_language", new_language))
                out.replies += [Say("prompts.sms.language_set"), Show(out.position)]
                return out
        if "person" in kinds:
            out.effects.append(Effect("callback"))
            out.replies.append(Say("prompts.sms.callback"))
            return out
        if "menu" in kinds:
            out.position = Position()
            out.replies.append(Show(out.position))
            return out
        if "thanks" in kinds:
            out.replies.append(Say("prompts.sms.thanks"))
            return out
        if "back" in kinds:
            out.position = menus.back(self.catalog, here)
            out.replies.append(Show(out.position))
            return out
        if "more" in kinds:
            return self._more(out, here)
        if "next" in kinds:
            out.effects.append(Effect("next_appointment"))
            return out
        reply = self._appointment_reply(message, kinds)
        if reply and facts.enrolled:
            out.effects.append(reply)
            return out

        digits = message.strip().rstrip(".")
        if digits.isdigit() and len(digits) == 1:
            return self._choose(out, here, int(digits))

        return self._intent(out, here, message, reading, facts)

    def _after_stop(self, out: Outcome, reading: Reading, message: str) -> Outcome:
        """Nothing is sent after a STOP until START (carriers refuse it anyway: 21610),
        but the text is still screened: a warning sign reaches the coordinators' inbox."""
        if reading.signs:
            out.effects.append(Effect("red_flag", reading.sign))
        elif self.keywords.asks_to_stop(message):
            out.effects.append(Effect("opt_out"))  # recorded again, not answered again
        return out

    def _intent(
        self, out: Outcome, here: Position, message: str, reading: Reading, facts: Facts
    ) -> Outcome:
        """Answer what the person wants, as the reading understood it.

        An unsure reading is never a guess: for an enrolled patient it becomes a question
        for a person; anyone else gets the menu and the way to a person.
        """
        if not reading.understood:
            out.effects.append(Effect("review"))  # for the coordinators' labelling page
        found = self.glossary.find(message)
        intent = reading.intent if reading.understood else None
        if found and intent in (None, "definition", "other", NEAR_MISS):
            term, words_language = found
            self._answer_in_their_language(out, message, facts, words_language)
            out.replies.append(Say(f"glossary.{term}.text"))
            return out
        if not facts.language_chosen:
            out.language = reading.language
        if self._answer(out, reading, facts):
            return out
        out.replies += [Say("prompts.sms.not_understood"), Show(here)]
        return out

    def _answer(self, out: Outcome, reading: Reading, facts: Facts) -> bool:
        """What the person wants, decided the same way for a text and a caller's words.

        Adds the answer (keys under ``answers.``; the phone speaks their ``say`` variants)
        and its effects; False when there is nothing to answer and the person is not
        enrolled (each channel then offers its menu and the way to a person).
        """
        intent = reading.intent if reading.understood else None
        if reading.set_aside:
            # "No fever today": not an alert, but what to do if it comes.
            out.replies.append(Say("answers.near_miss"))
            if intent in (None, NEAR_MISS, "other"):
                return True
        if intent in self.intents["appointment"]:
            self._about_a_visit(out, reading, facts)
            return True
        if intent in self.intents["callback"]:
            out.effects.append(Effect("callback", "asked for a person in their own words"))
            out.replies.append(Say("prompts.sms.callback"))
            return True
        if intent in self.intents["answer"]:
            if intent in self.intents["prep"]:
                out.effects.append(Effect("prep", intent, topic=reading.topic))
            out.replies.append(Say(f"answers.{intent}"))
            if facts.enrolled and intent in self.intents["person"]:
                out.effects.append(Effect("question", intent))
            return True
        if facts.enrolled:
            out.effects.append(Effect("question", intent or "unsure"))
            out.replies.append(Say("answers.person_will_reply"))
            return True
        return False

    def _about_a_visit(self, out: Outcome, reading: Reading, facts: Facts) -> Outcome:
        """ "Can't make my biopsy": the same path as replying R, for that appointment."""
        if not facts.enrolled:
            out.replies.append(Say("answers.not_enrolled_visit"))
            return out
        action = self.intents["appointment"][reading.intent]
        if action == "cancel":
            out.effects.append(Effect("question", "cancel"))
            out.replies.append(Say("answers.cancel"))
            return out
        out.effects.append(Effect("appointment_reply", action, topic=reading.topic))
        return out

    def _answer_in_their_language(
        self, out: Outcome, message: str, facts: Facts, words_language: str | None
    ) -> None:
        """Someone who never chose a language is answered in the one they wrote in.

        A choice made with ESPANOL or ENGLISH always wins; otherwise Spanish-only words
        ("biopsia") or common Spanish words ("que es HER2") mean Spanish, English-only
        words mean English, and anything else keeps the number's language.
        """
        if facts.language_chosen:
            return
        if words_language is None and self.keywords.looks_spanish(message):
            words_language = "es"
        if words_language:
            out.language = words_language

    def _opt_out(self, out: Outcome) -> Outcome:
        out.effects.append(Effect("opt_out"))
        out.replies.append(Say("prompts.sms.stop"))
        return out

    def _more(self, out: Outcome, here: Position) -> Outcome:
        if menus.node(self.catalog, here.node).children:
            # A menu has no rest to read: show it again rather than "That is all on this
            # topic" and a move up that the person never asked for.
            out.replies.append(Show(here))
            return out
        following = menus.more(self.catalog, here, out.language)
        if following is None:
            out.replies += [Say("prompts.sms.end_of_topic"), Show(menus.back(self.catalog, here))]
            out.position = menus.back(self.catalog, here)
        else:
            out.position = following
            out.replies.append(Show(following))
        return out

    def _appointment_reply(self, message: str, kinds: set[str]) -> Effect | None:
        numbered = self.keywords.numbered_reply(message)
        if numbered:
            return Effect("appointment_reply", numbered[0], numbered[1])
        for kind in ("confirm", "reschedule"):
            if kind in kinds:
                return Effect("appointment_reply", kind)
        return None

    def _choose(self, out: Outcome, here: Position, digit: int) -> Outcome:
        if digit == 0:
            out.effects.append(Effect("callback"))
            out.replies.append(Say("prompts.sms.callback"))
            return out
        chosen = menus.choose(self.catalog, here, digit)
        if chosen is None:
            out.replies += [Say("prompts.sms.not_understood"), Show(here)]
            return out
        target = menus.node(self.catalog, chosen.node)
        if target.action == "next_appointment":
            out.effects.append(Effect("next_appointment"))
            return out
        out.position = chosen
        out.replies.append(Show(chosen))
        return out

    # -- phone calls ---------------------------------------------------------------

    def keypad(self, here: Position, digits: str, speech: str, facts: Facts) -> Outcome:
        """What a caller's key press or spoken answer at a menu or topic means.

        Reserved keys: 0 a person, 8 repeat, * back, 7 send this by text. On a topic that
        has more to hear, 1 plays its next part (a topic has no options, so 1 is free).
        Spoken words are screened for warning signs first, then for a request to stop calling.
        """
        out = Outcome(here, facts.language)
        if speech:
            reading = out.reading = self.understanding.read(
                speech, facts.language, facts.language_chosen
            )
            if reading.signs:
                if not facts.language_chosen:
                    out.language = reading.language
                # A 911 reply tells the caller to hang up and call, so the call ends there;
                # every other reply tells them to stay on the line for the care team.
                then = "hang_up" if reading.sign_action == "911" else "person"
                out.effects += [Effect("red_flag", reading.sign), Effect(then)]
                out.replies.append(Say(f"redflags.{reading.sign}.say"))
                if self.keywords.asks_to_stop(speech):
                    self._spoken_opt_out(out, speech, facts)
                return out
            if self.keywords.asks_to_stop(speech):
                return self._spoken_opt_out(out, speech, facts)
        key = (digits or "").strip()[:1]
        if not key and speech:
            key = self._spoken_key(speech, out)
            if not key:
                return self._spoken_words(out, here, speech, facts)
        if key == "0":
            # Connected now, and a call-back item for the coordinators too (as 0 by text
            # does): the line may not answer, and a coordinator should see who asked.
            out.effects += [Effect("person"), Effect("callback", "asked for a person by phone")]
        elif key == "8":
            out.replies.append(Show(here))
        elif key == "*":
            out.position = menus.back(self.catalog, here)
            out.replies.append(Show(out.position))
        elif key == "7" and not menus.node(self.catalog, here.node).children:
            out.effects.append(Effect("text_me", here.node))
        elif key == MORE_KEY and (following := self._spoken_more(here, out.language)):
            out.position = following
            out.replies.append(Show(following))
        elif key.isdigit() and menus.choose(self.catalog, here, int(key)):
            out.position = menus.choose(self.catalog, here, int(key))
            return self._arrive(out)
        else:
            out.effects.append(Effect("no_match"))
        return out

    def _spoken_more(self, here: Position, language: str) -> Position | None:
        """The next spoken part of a topic (never of a menu, where 1 is an option)."""
        if menus.node(self.catalog, here.node).children:
            return None
        return menus.more(self.catalog, here, language, channel="voice")

    def _spoken_opt_out(self, out: Outcome, speech: str, facts: Facts) -> Outcome:
        """ "Stop calling me" said at any prompt: the same opt-out as a texted STOP.

        Consent may be revoked by any reasonable means (TCPA), a spoken request included.
        Keys are never read as one. The confirmation is in the language the caller spoke
        unless they chose one, as for a text.
        """
        request = self.keywords.stop_request_language(speech)
        if request and not facts.language_chosen:
            out.language = request
        out.effects.append(Effect("opt_out"))
        out.replies.append(Say("prompts.voice.stop"))
        return out

    def _spoken_key(self, speech: str, out: Outcome) -> str:
        """The key a spoken command stands for ("operator": 0, "repeat": 8), or ""."""
        kind = self.keywords.spoken_kind(speech)
        keys = {"person": "0", "repeat": "8", "back": "*", "text_me": "7"}
        if kind in keys:
            return keys[kind]
        if kind in ("english", "spanish"):
            out.effects.append(Effect("set_language", "en" if kind == "english" else "es"))
            out.language = "en" if kind == "english" else "es"
            return "8"
        return ""

    def _spoken_words(self, out: Outcome, here: Position, speech: str, facts: Facts) -> Outcome:
        """A caller's own words that are not a command: what they want, as for a text.

        A confident reading of a question gets the same answer and effects as a text (the
        renderer speaks its ``say`` variant); then a topic's name ("biopsy", "HER2 low")
        opens that topic; an unsure reading from an enrolled patient is a question for a
        person; anything else is a miss (after two, a person).
        """
        reading = out.reading
        specific = reading.understood and reading.intent not in (NEAR_MISS, "other", "definition")
        if specific and self._answer(out, reading, facts):
            return self._spoken_answer(out, reading, facts)
        spoken = menus.find_by_words(self.catalog, self.node_words, speech, here)
        if spoken:
            out.position = spoken
            return self._arrive(out)
        if not reading.understood:
            out.effects.append(Effect("review"))  # for the coordinators' labelling page
        if self._answer(out, reading, facts):
            return self._spoken_answer(out, reading, facts)
        out.effects.append(Effect("no_match"))
        return out

    @staticmethod
    def _spoken_answer(out: Outcome, reading: Reading, facts: Facts) -> Outcome:
        """Answered in the language spoken (unless one was chosen); asking for a person in
        one's own words connects now, as 0 does."""
        if not facts.language_chosen:
            out.language = reading.language
        if out.effect("callback"):
            out.replies = [r for r in out.replies if r != Say("prompts.sms.callback")]
            out.effects.insert(0, Effect("person"))
        return out

    def _arrive(self, out: Outcome) -> Outcome:
        if menus.node(self.catalog, out.position.node).action == "next_appointment":
            out.effects.append(Effect("next_appointment"))
        else:
            out.replies.append(Show(out.position))
        return out


def _intent_table(root) -> dict:
    """What each intent leads to (messages/understanding/intents.yaml)."""
    table = yaml.safe_load((root / "understanding" / "intents.yaml").read_text("utf-8"))
    return {
        "appointment": dict(table["appointment"]),
        "callback": set(table["callback"]),
        "answer": set(table["answer"]),
        "prep": {intent for intent in table["answer"] if intent.startswith("prep_")},
        "person": set(table["person"]),
    }


def engine_for(catalog: Catalog) -> Engine:
    """One engine per catalog, kept on the catalog so indexes are built once."""
    engine = getattr(catalog, "_engine", None)
    if engine is None:
        engine = Engine(catalog, getattr(catalog, "model_cache", None))
        catalog._engine = engine
    return engine
