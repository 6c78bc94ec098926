"""Small helpers for the server-rendered forms."""

from __future__ import annotations

from flask import request


def form_int(name: str, low: int, high: int) -> int | None:
    """The form field as a whole number from ``low`` to ``high``, or None when it is not."""
    raw = (request.form.get(name) or "").strip()
    if not raw.isdigit() or len(raw) > 9:
        return None
    value = int(raw)
    return value if low <= value <= high else None
