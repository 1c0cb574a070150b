"""One home for each fact: a second copy of any of them fails here.

A fact written twice drifts (issue 8 found alert rows built by hand beside the one way to
raise an alert, ``{contact}`` meaning a web address in "call ..." replies, time zones
converted inline beside the helpers meant for it). Each test below names the fact's one
home and walks the package's source for a second one.
"""

from __future__ import annotations

import ast
import string
from pathlib import Path

from navigator.catalog import catalog, site_values

PACKAGE = Path(__file__).resolve().parent.parent / "navigator"
SOURCES = {path.relative_to(PACKAGE).as_posix(): path for path in sorted(PACKAGE.rglob("*.py"))}


def _trees():
    for name, path in SOURCES.items():
        yield name, ast.parse(path.read_text())


def _called_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _found(matches, *, outside: set[str]) -> list[str]:
    """Where (module:line) a node ``matches`` in modules other than the fact's home."""
    return [
        f"{name}:{node.lineno}"
        for name, tree in _trees()
        if name not in outside
        for node in ast.walk(tree)
        if matches(node)
    ]


def _calls(named: str, *, outside: set[str]) -> list[str]:
    return _found(
        lambda node: isinstance(node, ast.Call) and _called_name(node) == named, outside=outside
    )


def test_an_alert_row_is_built_only_by_alerts_raise_alert():
    assert _calls("Alert", outside={"alerts.py"}) == []


def test_the_statuses_of_a_live_appointment_are_listed_only_beside_the_model():
    """``models.ACTIVE``: reminders (below patients) and patients read the same tuple."""
    copies = _found(
        lambda node: (
            isinstance(node, ast.Tuple | ast.List | ast.Set)
            and {"scheduled", "confirmed"}
            <= {e.value for e in node.elts if isinstance(e, ast.Constant)}
        ),
        outside={"models.py"},
    )
    assert copies == []


def test_the_opted_out_rule_is_written_only_in_models_is_opted_out():
    """STOP until START: no other module compares the two times itself."""
    times = {"opted_out_at", "opted_in_at"}
    copies = _found(
        lambda node: (
            isinstance(node, ast.Compare | ast.BoolOp)
            and any(
                isinstance(part, ast.Attribute) and part.attr in times for part in ast.walk(node)
            )
        ),
        outside={"models.py"},
    )
    assert copies == []


def _templates():
    """(key, template) for every string in every language, lists opened."""
    for strings in catalog().strings.values():
        for key, value in strings.items():
            stack = [value]
            while stack:
                item = stack.pop()
                if isinstance(item, str):
                    yield key, item
                elif isinstance(item, list | tuple):
                    stack.extend(item)


class _Filled(dict):
    """The site's values, and a stand-in for every placeholder a caller fills in."""

    def __missing__(self, key):
        return f"<{key}>"


def test_with_a_help_address_set_only_the_help_reply_names_it_and_none_says_call_it(app):
    """``{care_team}`` is always the number; ``{support}`` (the address) only in HELP."""
    app.config["SUPPORT_URL"] = "https://help.example.org"
    values = _Filled(site_values())
    assert values["support"] == "https://help.example.org"
    naming_it = set()
    for key, template in _templates():
        text = template.format_map(values)
        assert "call https" not in text.lower(), key
        assert "llame al https" not in text.lower(), key
        if "https://help.example.org" in text:
            naming_it.add(key)
    assert naming_it == {"prompts.sms.help"}


def test_the_site_values_are_filled_only_by_catalog_site_values():
    """No module reads the program's name, the care team's number or the help address to
    fill a message itself (the coordinators' pages may show the name)."""
    settings = {"PROGRAM_NAME", "SUPPORT_URL", "CARE_TEAM_HOURS"}
    reads = _found(
        lambda node: isinstance(node, ast.Constant) and node.value in settings,
        outside={"catalog.py", "config.py", "accounts.py"},
    )
    assert reads == [] and _calls("care_team_phone", outside={"catalog.py"}) == []


def test_no_message_uses_a_placeholder_that_meant_two_things(app):
    """``{contact}`` was the help address or the number; a string now names which."""
    for key, template in _templates():
        fields = {field for _, field, _, _ in string.Formatter().parse(template) if field}
        assert "contact" not in fields, key


def test_only_config_reads_the_environment_or_gives_a_setting_a_default():
    """``config.load`` reads every variable and sets every setting; the rest read
    ``config["NAME"]``, so a default written beside a read cannot drift from config.py's."""
    found = []
    for name, tree in _trees():
        if name == "config.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}:
                found.append(f"{name}:{node.lineno} reads the environment")
            elif (
                isinstance(node, ast.Call)
                and _called_name(node) == "get"
                and len(node.args) == 2
                and isinstance(node.args[0], ast.Constant)
                and str(node.args[0].value).isupper()
            ):
                found.append(f"{name}:{node.lineno} gives {node.args[0].value} a default")
    assert found == []


def test_the_voice_of_every_call_is_set_only_by_call_kit_say():
    """The voice, language and rate are in messages/ (``prompts.voice.settings``); only
    ``call_kit.say`` reads them, so no call speaks in Twilio's default voice."""
    said = _found(
        lambda node: (
            (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "say"
                and not (isinstance(node.func.value, ast.Name) and node.func.value.id == "call_kit")
            )
            or (
                isinstance(node, ast.ImportFrom)
                and (node.module or "").startswith("twilio.twiml.voice_response")
                and any(alias.name == "Say" for alias in node.names)
            )
            or (isinstance(node, ast.Constant) and str(node.value).startswith("Polly."))
        ),
        outside={"channels/call_kit.py"},
    )
    assert said == []


def _zone_given(keyword: ast.keyword) -> bool:
    return keyword.arg == "tzinfo" and not (
        isinstance(keyword.value, ast.Constant) and keyword.value.value is None
    )


def _utc_only(call: ast.Call) -> bool:
    given = [*call.args, *(k.value for k in call.keywords)]
    return all(isinstance(arg, ast.Name) and arg.id == "UTC" for arg in given)


def test_time_moves_between_utc_and_a_zone_only_in_timefmt():
    """``astimezone``, a zone attached with ``replace(tzinfo=...)`` and ``datetime.now(zone)``
    are written once, in timefmt.py, so daylight-saving time is handled in one place.
    (Dropping a zone, ``replace(tzinfo=None)``, and ``datetime.now(UTC)`` convert nothing.)"""
    inline = _found(
        lambda node: (
            isinstance(node, ast.Call)
            and (
                _called_name(node) == "astimezone"
                or (_called_name(node) == "replace" and any(_zone_given(k) for k in node.keywords))
                or (_called_name(node) == "now" and not _utc_only(node))
            )
        ),
        outside={"timefmt.py"},
    )
    assert inline == []


def test_dates_and_times_are_worded_only_in_timefmt():
    """Day and month names, the clock and the date's shape (``prompts.calendar.*``)."""
    wording = _found(
        lambda node: (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith("prompts.calendar")
        ),
        outside={"timefmt.py"},
    )
    assert wording == []
