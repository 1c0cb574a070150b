"""The menu tree: where a choice leads. Pure functions over the content's tree.

Both channels use these; neither knows the other exists. A position is a node id and,
for topics longer than one text, the page being read.
"""

from __future__ import annotations

from dataclasses import dataclass

from .content import Catalog, Node

MAIN = "main"


@dataclass(frozen=True)
class Position:
    node: str = MAIN
    page: int = 0


def node(catalog: Catalog, node_id: str) -> Node:
    """The node, or the main menu when the id is unknown (content changed since)."""
    return catalog.nodes.get(node_id) or catalog.nodes[MAIN]


def choose(catalog: Catalog, here: Position, digit: int) -> Position | None:
    """Where option ``digit`` (1-based) of the current node leads, or None if it is not one."""
    children = node(catalog, here.node).children
    if not 1 <= digit <= len(children):
        return None
    return Position(children[digit - 1])


def back(catalog: Catalog, here: Position) -> Position:
    parent = node(catalog, here.node).parent
    return Position(parent or MAIN)


def page_count(catalog: Catalog, node_id: str, language: str, channel: str = "text") -> int:
    """How many parts a node has on a channel: SMS pages (``text``) or spoken parts (``voice``).

    A long topic is cut into parts so that nobody reads or hears too much at once; each
    channel has its own cut, since a text page and 30 seconds of speech hold different amounts.
    """
    current = node(catalog, node_id)
    if current.action:
        return 1
    return len(catalog.pages(f"topics.{current.id}.{channel}", language))


def more(catalog: Catalog, here: Position, language: str, channel: str = "text") -> Position | None:
    """The next part of the current topic on ``channel``, or None at its end."""
    if here.page + 1 < page_count(catalog, here.node, language, channel):
        return Position(here.node, here.page + 1)
    return None


def find_by_words(catalog: Catalog, index, speech: str, here: Position) -> Position | None:
    """A node whose label a caller said ("imaging", "biopsia"); options here win ties.

    ``index`` is a PhraseIndex over every node's label words, mapped in ``index.nodes``.
    """
    found = index.find(speech)
    if not found:
        return None
    candidates = [index.nodes[phrase.text] for phrase in found]
    children = node(catalog, here.node).children
    for node_id in candidates:
        if node_id in children:
            return Position(node_id)
    return Position(candidates[0])


def walk(catalog: Catalog):
    """Every node id reachable from the main menu, parents before children."""
    queue = [MAIN]
    while queue:
        current = queue.pop(0)
        yield current
        queue.extend(catalog.nodes[current].children)


def path_to(catalog: Catalog, node_id: str) -> list[int]:
    """The option numbers that lead from the main menu to ``node_id``."""
    steps: list[int] = []
    while catalog.nodes[node_id].parent:
        parent = catalog.nodes[node_id].parent
        steps.insert(0, catalog.nodes[parent].children.index(node_id) + 1)
        node_id = parent
    return steps
