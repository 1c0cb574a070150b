"""Names folded for search, so a nurse finds "Hernández" by typing "hernandez" and
"O'Connor" by typing "oconnor" or "o connor", on SQLite and PostgreSQL alike.

The folded form keeps only lowercase letters and digits, with accents taken off (NFKD,
combining marks dropped; "ß" becomes "ss" by casefolding). It is stored beside the name
(``Patient.search_name``) and a query is folded the same way, so the database compares
plain ASCII with LIKE and needs no extension (unaccent) or collation of its own.
Pure: no Flask, no database.
"""

from __future__ import annotations

import unicodedata


def fold(text: str | None) -> str:
    """``text`` reduced to what a search compares: "María-José O'Neil" -> "mariajoseoneil"."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch))
