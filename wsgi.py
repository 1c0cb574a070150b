"""The WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi ...``."""

import sys

from navigator.app import create_app
from navigator.cli import understanding_commands as understanding_cli
from navigator.config import ConfigError
from navigator.core.content import ContentError

try:
    app = create_app()
except (ConfigError, ContentError) as exc:
    sys.stderr.write(f"navigator cannot start: {exc}\n")
    raise SystemExit(2) from None

# The web process reads free text: have the model ready before the first patient writes.
# (The reminder worker builds its own app and never loads it.) Not for one-off commands.
if "gunicorn" in sys.modules:
    understanding_cli.warm(app, quick=True)
