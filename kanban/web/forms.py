"""Small helpers for the server-rendered forms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import request

from ..domain.numbers import whole_number
from ..masterdata.fields import Field


def form_int(name: str, low: int, high: int) -> int | None:
    """The form field as a whole number from ``low`` to ``high``, or None when it is not."""
    value = whole_number((request.form.get(name) or "").strip(), max_digits=9)
    return value if value is not None and low <= value <= high else None


def form_values(fields: Mapping[str, Field]) -> dict[str, str]:
    """The posted values of ``fields`` that the form sent. A checkbox comes after a hidden
    "0" of the same name, so its last value counts (unticked: "0")."""
    return {name: request.form.getlist(name)[-1] for name in fields if name in request.form}


def form_version() -> int | None:
    """The record version the edit form was opened on (hidden field ``version``)."""
    value = whole_number((request.form.get("version") or "").strip(), max_digits=9)
    return value if value is not None else -1


@dataclass(frozen=True)
class FormField:
    """One field as a form shows it: what the service says about it, its value and error,
    and the choices of a select."""

    name: str
    field: Field
    value: Any
    error: str | None
    options: list[tuple[int, str]]

    @property
    def kind(self) -> str:
        """The kind of input (``masterdata/_field.html`` types it for a browser)."""
        return self.field.kind.name.lower()


def form_fields(
    fields: Mapping[str, Field],
    values: Mapping[str, Any],
    errors: Mapping[str, str] | None = None,
    options: Mapping[str, list[tuple[int, str]]] | None = None,
) -> list[FormField]:
    """The fields of a form with their values (as typed, or as stored) and errors."""
    return [
        FormField(
            name,
            f,
            values.get(name),
            (errors or {}).get(name),
            (options or {}).get(name, []),
        )
        for name, f in fields.items()
    ]
