"""Loads and validates messages/, and renders a key in a language.

Content is read once at start-up and checked as a whole: a file that does not parse,
a key present in one language and missing in the other, a placeholder that differs
between languages, or a menu node without words stops start-up with a ContentError
naming the file and the key. A running navigator therefore never meets a missing string.

The language is always passed explicitly: the reminder worker has no request.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path

import yaml

LANGUAGES = ("en", "es")
LANGUAGE_FILES = ("topics", "prompts", "glossary", "redflags", "reminders", "notices", "answers")
NODE_KEYS = ("label", "say")
TOPIC_KEYS = ("text", "voice")
#: What the keys of a reminder call can do (messages/reminder_keypad.yaml); each once.
REMINDER_ACTIONS = ("confirm", "new_time", "repeat", "person")


class ContentError(RuntimeError):
    """messages/ is broken; the message names the file and the key."""


@dataclass(frozen=True)
class Node:
    """One place in the menu tree."""

    id: str
    parent: str | None
    children: tuple[str, ...] = ()
    action: str | None = None
    sources: tuple[str, ...] = ()


@dataclass
class Catalog:
    """All content, validated. ``strings[lang][key]`` is a str or a list of str."""

    root: Path
    strings: dict[str, dict[str, object]]
    nodes: dict[str, Node]
    keywords: dict
    redflag_rules: list[dict]
    files: dict[str, str] = field(default_factory=dict)  # key -> file, for messages
    reminder_keys: dict[str, str] = field(default_factory=dict)  # key pressed -> action

    def get(self, key: str, language: str):
        try:
            return self.strings[language][key]
        except KeyError:
            raise ContentError(f"no content for key {key!r} in {language!r}") from None

    def render(self, key: str, language: str, **values) -> str:
        """The string at ``key`` with its placeholders filled.

        :raise ContentError: the key is unknown or is a list.
        """
        template = self.get(key, language)
        if not isinstance(template, str):
            raise ContentError(f"{key!r} is a list; use pages()")
        return template.format_map(values) if values else template

    def pages(self, key: str, language: str) -> list[str]:
        value = self.get(key, language)
        return [value] if isinstance(value, str) else list(value)

    def section(self, prefix: str, language: str) -> dict[str, object]:
        """Every key under ``prefix.``, with the prefix removed."""
        cut = len(prefix) + 1
        return {k[cut:]: v for k, v in self.strings[language].items() if k.startswith(prefix + ".")}


def _read_yaml(path: Path) -> object:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError:
        raise ContentError(f"{path}: file is missing") from None
    except yaml.YAMLError as exc:
        raise ContentError(f"{path}: does not parse: {exc}") from None


def _flatten(prefix: str, value: object, out: dict, path: Path) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}", inner, out, path)
    elif isinstance(value, str):
        out[prefix] = value
    elif isinstance(value, list):
        if all(isinstance(item, str) for item in value):
            out[prefix] = list(value)
        else:  # lists of lists (red-flag word groups) are data, kept whole
            out[prefix] = value
    else:
        raise ContentError(f"{path}: {prefix}: expected text or a list of text, got {value!r}")


def placeholders(value: object) -> set[str]:
    """The ``{name}`` fields used anywhere in a string or list of strings."""
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    names = set()
    for item in items:
        if isinstance(item, str):
            try:
                names.update(name for _, name, _, _ in string.Formatter().parse(item) if name)
            except ValueError as exc:
                raise ContentError(f"bad placeholder in {item[:40]!r}: {exc}") from None
    return names


def _load_language(root: Path, language: str) -> tuple[dict, dict]:
    strings: dict[str, object] = {}
    files: dict[str, str] = {}
    for stem in LANGUAGE_FILES:
        path = root / language / f"{stem}.yaml"
        data = _read_yaml(path)
        if not isinstance(data, dict):
            raise ContentError(f"{path}: expected a mapping at the top")
        flat: dict[str, object] = {}
        _flatten(stem, data, flat, path)
        strings.update(flat)
        files.update({key: str(path) for key in flat})
    return strings, files


def _load_tree(root: Path) -> dict[str, Node]:
    path = root / "menu.yaml"
    data = _read_yaml(path)
    if not isinstance(data, dict) or "main" not in data:
        raise ContentError(f"{path}: expected a mapping with a 'main' node")
    parents: dict[str, str] = {}
    for node_id, spec in data.items():
        for child in (spec or {}).get("children", []):
            if child not in data:
                raise ContentError(f"{path}: {node_id}: child {child!r} is not a node")
            if child in parents:
                raise ContentError(f"{path}: {child}: has two parents")
            parents[child] = node_id
    nodes = {}
    for node_id, spec in data.items():
        spec = spec or {}
        children = tuple(spec.get("children", []))
        if len(children) > 4:
            raise ContentError(f"{path}: {node_id}: more than 4 options for the phone menu")
        if node_id != "main" and node_id not in parents:
            raise ContentError(f"{path}: {node_id}: unreachable from main")
        nodes[node_id] = Node(
            id=node_id,
            parent=parents.get(node_id),
            children=children,
            action=spec.get("action"),
            sources=tuple(spec.get("sources", [])),
        )
    return nodes


def _check_parity(strings: dict, files: dict) -> None:
    for language, other in ((LANGUAGES[0], LANGUAGES[1]), (LANGUAGES[1], LANGUAGES[0])):
        for key in strings[language]:
            if key not in strings[other]:
                present = Path(files[language][key])
                missing = present.parent.parent / other / present.name
                raise ContentError(f"{missing}: key {key!r} is missing (it is in {present})")
    english, spanish = (strings[lang] for lang in LANGUAGES)
    for key, value in english.items():
        if key.endswith((".words", ".match")):
            continue  # what people type differs by language; only replies must match
        if isinstance(value, list) != isinstance(spanish[key], list):
            raise ContentError(f"{files['es'][key]}: key {key!r} is a list in one language only")
        if placeholders(value) != placeholders(spanish[key]):
            raise ContentError(
                f"{files['es'][key]}: key {key!r} has placeholders "
                f"{sorted(placeholders(spanish[key]))} but English has {sorted(placeholders(value))}"
            )


def _check_nodes(nodes: dict[str, Node], strings: dict, root: Path) -> None:
    for language in LANGUAGES:
        for node in nodes.values():
            needed = NODE_KEYS + (() if node.action else TOPIC_KEYS)
            for part in needed:
                key = f"topics.{node.id}.{part}"
                if key not in strings[language]:
                    raise ContentError(f"{root / language / 'topics.yaml'}: key {key!r} is missing")


def _check_redflags(rules: list[dict], strings: dict, root: Path) -> None:
    order = [rule["id"] for rule in rules]
    for position, rule in enumerate(rules):
        if "yields_to" in rule and rule["yields_to"] not in order[position + 1 :]:
            raise ContentError(
                f"{root / 'redflags.yaml'}: {rule['id']} yields to {rule['yields_to']!r},"
                " which is not a rule after it"
            )
    for language in LANGUAGES:
        for rule in rules:
            parts = ("match", "text", "say")  # say: the spoken reply
            if "yields_to" in rule:
                parts += ("yields_when", "yields_unless")
            for part in parts:
                key = f"redflags.{rule['id']}.{part}"
                if key not in strings[language]:
                    raise ContentError(
                        f"{root / language / 'redflags.yaml'}: key {key!r} is missing"
                    )


def _check_keywords(keywords: object, path: Path) -> None:
    """Every keyword must be text: unquoted YES or NO in YAML would silently become a boolean."""
    if not isinstance(keywords, dict):
        raise ContentError(f"{path}: expected a mapping")

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list):
            for item in value:
                if not isinstance(item, str):
                    raise ContentError(f"{path}: {prefix}: {item!r} is not text (quote it)")
        else:
            raise ContentError(f"{path}: {prefix}: expected a list of words")

    walk("", keywords)


def _load_reminder_keys(root: Path, strings: dict) -> dict[str, str]:
    """The reminder keypad: one key (0-9) per action, every action offered, each worded.

    :raise ContentError: a key that is not one digit, an unknown or repeated action, an
        action without a key, or words that do not say the key (``{digit}``).
    """
    path = root / "reminder_keypad.yaml"
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise ContentError(f"{path}: expected a mapping of key to action")
    keys = {str(key): action for key, action in data.items()}
    for key, action in keys.items():
        if not (len(key) == 1 and key.isdigit()):
            raise ContentError(f"{path}: {key!r}: a key is one digit (quote it)")
        if action not in REMINDER_ACTIONS:
            raise ContentError(f"{path}: {key}: unknown action {action!r}")
    if sorted(keys.values()) != sorted(REMINDER_ACTIONS):
        raise ContentError(f"{path}: every one of {', '.join(REMINDER_ACTIONS)} needs one key")
    for language in LANGUAGES:
        for action in REMINDER_ACTIONS:
            key = f"reminders.voice.keys.{action}"
            if "digit" not in placeholders(strings[language].get(key)):
                raise ContentError(
                    f"{root / language / 'reminders.yaml'}: key {key!r} must say {{digit}}"
                )
    return keys


def load(root: str | Path) -> Catalog:
    """Read every file under ``root`` and check it.

    :raise ContentError: anything is missing, malformed or inconsistent.
    """
    root = Path(root)
    strings, files = {}, {}
    for language in LANGUAGES:
        strings[language], files[language] = _load_language(root, language)
    _check_parity(strings, files)
    nodes = _load_tree(root)
    _check_nodes(nodes, strings, root)
    keywords = _read_yaml(root / "keywords.yaml")
    _check_keywords(keywords, root / "keywords.yaml")
    redflags = _read_yaml(root / "redflags.yaml")
    rules = (redflags or {}).get("rules") if isinstance(redflags, dict) else None
    if not isinstance(rules, list):
        raise ContentError(f"{root / 'redflags.yaml'}: expected a 'rules' list")
    _check_redflags(rules, strings, root)
    reminder_keys = _load_reminder_keys(root, strings)
    return Catalog(
        root=root,
        strings=strings,
        nodes=nodes,
        keywords=keywords,
        redflag_rules=rules,
        files=files["en"],
        reminder_keys=reminder_keys,
    )
