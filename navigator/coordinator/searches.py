"""The words a coordinator searched for, kept in their session under a short random token.

The patient list is a GET of the token (``/patients?s=...``), so Back and Reload show the
results again without "Confirm Form Resubmission", while the names and numbers searched
stay out of URLs, access logs and browser history. A token works in the session that
made it only, for ``LIFETIME``; a handful are kept, the oldest dropped first.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import session

from ..models import utcnow

KEY = "patient_searches"
LIFETIME = timedelta(minutes=30)
KEPT = 5


def remember(query: str) -> str:
    """Keep ``query`` and return its token."""
    now = utcnow()
    kept = {
        token: value
        for token, value in session.get(KEY, {}).items()
        if value[1] > (now - LIFETIME).isoformat()
    }
    token = secrets.token_urlsafe(8)
    kept[token] = [query, now.isoformat()]
    session[KEY] = dict(sorted(kept.items(), key=lambda item: item[1][1])[-KEPT:])
    return token


def query_for(token: str) -> str:
    """The words behind ``token``; "" when unknown, from another session, or expired."""
    if not token:
        return ""
    kept = session.get(KEY, {}).get(token)
    if not kept or kept[1] <= (utcnow() - LIFETIME).isoformat():
        return ""
    return kept[0]
