"""Whole numbers that people type into forms and clients send in query strings.

``str.isdigit`` is true for "²", "٣" and other Unicode digits, and ``int`` refuses some
of them (superscripts) while it reads others (Arabic-Indic digits) as numbers. A quantity
or an id on this site is written with the ASCII digits 0–9 and nothing else.
"""

from __future__ import annotations

#: Enough digits for any quantity or id on this site, and few enough to stay fast.
MAX_DIGITS = 18


def whole_number(text: str | None, *, max_digits: int = MAX_DIGITS) -> int | None:
    """``text`` as a non-negative whole number, or None when it is anything else:
    only ASCII digits, 1 to ``max_digits`` of them (no sign, no spaces)."""
    if not isinstance(text, str) or not 0 < len(text) <= max_digits:
        return None
    if not text.isascii() or not text.isdigit():
        return None
    return int(text)
