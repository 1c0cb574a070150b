"""The app's message catalogue: messages/ loaded once at start-up, read per request.

``core.content`` knows how to load and render the catalogue without Flask; this module
keeps the loaded one on the app, so the layers above reach it with ``catalog()``, and fills
the site's own placeholders (``site_values``) from its settings, in one place.
"""

from __future__ import annotations

from flask import current_app

from .config import care_team_phone
from .core.content import Catalog, load
from .core.phones import for_humans


def init_app(app) -> None:
    """Load content into ``app.extensions['content']``; a broken file stops start-up here."""
    app.extensions["content"] = load(app.config["MESSAGES_DIR"])


def catalog() -> Catalog:
    return current_app.extensions["content"]


def site_values() -> dict[str, str]:
    """The placeholders any message may use, from this site's settings.

    ``care_team`` is always the care team's phone number, written for people, so it can
    follow "call" in a text or on a call. ``support`` is where the HELP reply sends people:
    the site's help web address (``SUPPORT_URL``) when it has one, else that same number;
    nothing else may name it, so no reply ever says "call https://...".
    """
    config = current_app.config
    care_team = for_humans(care_team_phone(config))
    team_start, _, team_end = config["CARE_TEAM_HOURS"].partition("-")
    return {
        "program": config["PROGRAM_NAME"],
        "care_team": care_team,
        "support": config["SUPPORT_URL"] or care_team,
        "team_start": team_start,
        "team_end": team_end,
    }
