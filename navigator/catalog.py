"""The app's message catalogue: messages/ loaded once at start-up, read per request.

``core.content`` knows how to load and render the catalogue without Flask; this module
keeps the loaded one on the app, so the layers above reach it with ``catalog()``.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from .core.content import Catalog, load


def init_app(app) -> None:
    """Load content into ``app.extensions['content']``; a broken file stops start-up here."""
    root = app.config.get("MESSAGES_DIR") or Path(app.root_path).parent / "messages"
    app.extensions["content"] = load(root)


def catalog() -> Catalog:
    return current_app.extensions["content"]
