"""One home for each fact: a second copy of any of them fails here.

A fact written twice drifts (issue 8 found alert rows built by hand beside the one way to
raise an alert, ``{contact}`` meaning a web address in "call ..." replies, time zones
converted inline beside the helpers meant for it). Each test below names the fact's one
home and walks the package's source for a second one.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "navigator"
SOURCES = {path.relative_to(PACKAGE).as_posix(): path for path in sorted(PACKAGE.rglob("*.py"))}


#: Left for the reminder worker's split (branch issue-8-reminders) to land first; emptied then.
NOT_YET = {name for name in SOURCES if name.startswith("reminders/")}


def _trees():
    for name, path in SOURCES.items():
        if name in NOT_YET:
            continue
        yield name, ast.parse(path.read_text())


def _called_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _calls(named: str, *, outside: set[str]) -> list[str]:
    return [
        f"{name}:{node.lineno}"
        for name, tree in _trees()
        if name not in outside
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _called_name(node) == named
    ]


def test_an_alert_row_is_built_only_by_alerts_raise_alert():
    assert _calls("Alert", outside={"alerts.py"}) == []


def test_the_statuses_of_a_live_appointment_are_listed_only_beside_the_model():
    """``models.ACTIVE``: reminders (below patients) and patients read the same tuple."""
    copies = [
        f"{name}:{node.lineno}"
        for name, tree in _trees()
        if name != "models.py"
        for node in ast.walk(tree)
        if isinstance(node, ast.Tuple | ast.List | ast.Set)
        and {"scheduled", "confirmed"}
        <= {e.value for e in node.elts if isinstance(e, ast.Constant)}
    ]
    assert copies == []


def test_the_opted_out_rule_is_written_only_in_models_is_opted_out():
    """STOP until START: no other module compares the two times itself."""
    times = {"opted_out_at", "opted_in_at"}
    copies = [
        f"{name}:{node.lineno}"
        for name, tree in _trees()
        if name != "models.py"
        for node in ast.walk(tree)
        if isinstance(node, ast.Compare | ast.BoolOp)
        and any(
            isinstance(part, ast.Attribute) and part.attr in times for part in ast.walk(node)
        )
    ]
    assert copies == []

