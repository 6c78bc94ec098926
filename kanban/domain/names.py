"""When two names are the same name: "Würth Industrie", "würth  industrie" and "ＷÜＲＴＨ
Industrie" (full width) all name one supplier."""

from __future__ import annotations

import unicodedata


def name_key(name: str) -> str:
    """``name`` folded for comparison: Unicode compatibility form (NFKC), case folded, and
    runs of white space as one space, trimmed. Two names with the same key are one name."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(folded.split())


def matches(query: str, *fields: str | None) -> bool:
    """True when ``query`` (folded as :func:`name_key`) is in one of ``fields`` (folded too);
    an empty query matches everything. A list's search box: "würth" finds "WÜRTH GmbH"."""
    wanted = name_key(query)
    return not wanted or any(wanted in name_key(f) for f in fields if f)
