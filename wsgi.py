"""The WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi ...``."""

import sys

from navigator import create_app
from navigator.config import ConfigError
from navigator.content import ContentError

try:
    app = create_app()
except (ConfigError, ContentError) as exc:
    sys.stderr.write(f"navigator cannot start: {exc}\n")
    raise SystemExit(2) from None
