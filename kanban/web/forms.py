"""Small helpers for the server-rendered forms."""

from __future__ import annotations

from flask import request

from ..domain.numbers import whole_number


def form_int(name: str, low: int, high: int) -> int | None:
    """The form field as a whole number from ``low`` to ``high``, or None when it is not."""
    value = whole_number((request.form.get(name) or "").strip(), max_digits=9)
    return value if value is not None and low <= value <= high else None
