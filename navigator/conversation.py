"""The conversation: what an inbound text or a caller's answer means, and what comes back.

Pure logic. In: where the person is in the menu, what they sent, and a few facts about
them. Out: where they are next, which content to send (by key), and the effects the
web layer must carry out (record an opt-out, raise an alert...). Nothing here knows
about SMS, voice, Flask or the database, so both channels share every rule.

The order of handling is the product's safety policy:
1. warning signs (before anything, STOP included);
2. carrier keywords: STOP, START, HELP;
3. language, a person, menu moves, the patient's own visit;
4. glossary questions; then a kind "I did not get that" with the way to a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import menus
from .content import LANGUAGES, Catalog
from .glossary import Glossary
from .keywords import Keywords
from .matching import PhraseIndex
from .menus import Position
from .screening import Screen


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


@dataclass
class Outcome:
    position: Position
    language: str
    replies: list = field(default_factory=list)  # Say and Show items, in order
    effects: list[Effect] = field(default_factory=list)

    def effect(self, kind: str) -> Effect | None:
        return next((e for e in self.effects if e.kind == kind), None)


class Engine:
    """Compiled once per content catalog (matching indexes are built here)."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.screen = Screen(catalog)
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
        flag = self.screen.check(message, prefer=language)
        if flag:
            if not facts.language_chosen:
                out.language = flag.language
            out.effects.append(Effect("red_flag", flag.rule))
            out.replies.append(Say(f"redflags.{flag.rule}.text"))
            if self.keywords.asks_to_stop(message):
                self._opt_out(out)
            return out

        kinds = self.keywords.kinds(message)
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

        found = self.glossary.find(message)
        if found:
            term, words_language = found
            self._answer_in_their_language(out, message, facts, words_language)
            out.replies.append(Say(f"glossary.{term}.text"))
            return out
        out.replies += [Say("prompts.sms.not_understood"), Show(here)]
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

        Reserved keys: 0 a person, 8 repeat, * back, 7 send this by text. Spoken words
        are screened for warning signs first, then for a request to stop calling.
        """
        out = Outcome(here, facts.language)
        if speech:
            flag = self.screen.check(speech, prefer=facts.language)
            if flag:
                if not facts.language_chosen:
                    out.language = flag.language
                # A 911 reply tells the caller to hang up and call, so the call ends there;
                # every other reply tells them to stay on the line for the care team.
                then = "hang_up" if flag.action == "911" else "person"
                out.effects += [Effect("red_flag", flag.rule), Effect(then)]
                out.replies.append(Say(f"redflags.{flag.rule}.say"))
                if self.keywords.asks_to_stop(speech):
                    self._spoken_opt_out(out, speech, facts)
                return out
            if self.keywords.asks_to_stop(speech):
                return self._spoken_opt_out(out, speech, facts)
        key = (digits or "").strip()[:1]
        if not key and speech:
            key = self._spoken_key(here, speech, out)
            if out.position != here:
                return self._arrive(out)
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
        elif key.isdigit() and menus.choose(self.catalog, here, int(key)):
            out.position = menus.choose(self.catalog, here, int(key))
            return self._arrive(out)
        else:
            out.effects.append(Effect("no_match"))
        return out

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

    def _spoken_key(self, here: Position, speech: str, out: Outcome) -> str:
        kind = self.keywords.spoken_kind(speech)
        keys = {"person": "0", "repeat": "8", "back": "*", "text_me": "7"}
        if kind in keys:
            return keys[kind]
        if kind in ("english", "spanish"):
            out.effects.append(Effect("set_language", "en" if kind == "english" else "es"))
            out.language = "en" if kind == "english" else "es"
            return "8"
        spoken = menus.find_by_words(self.catalog, self.node_words, speech, here)
        if spoken:
            out.position = spoken
        return ""

    def _arrive(self, out: Outcome) -> Outcome:
        if menus.node(self.catalog, out.position.node).action == "next_appointment":
            out.effects.append(Effect("next_appointment"))
        else:
            out.replies.append(Show(out.position))
        return out


def engine_for(catalog: Catalog) -> Engine:
    """One engine per catalog, kept on the catalog so indexes are built once."""
    engine = getattr(catalog, "_engine", None)
    if engine is None:
        engine = Engine(catalog)
        catalog._engine = engine
    return engine
