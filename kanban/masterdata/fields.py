"""The fields of suppliers, items, zones and bins, and checking what a person or an
integration typed into them: the same rules for the pages and the API.

A form sends text, the API sends JSON; :func:`clean` takes either and gives typed values,
or raises :class:`~kanban.core.errors.FieldErrors` naming every bad field with a message a
person understands ("Email: … is not an email address").
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ..core.errors import FieldErrors, ServiceError
from ..domain.codes import MAX_BIN_CODE_LENGTH, is_valid_bin_code, normalise_bin_code
from ..purchasing import mail

#: The largest quantity any field takes (as a scan, docs/manual/spec.md §8.1).
MAX_NUMBER = 1_000_000
BARCODE_RE = re.compile(r"^[0-9]{8,14}$")


class Kind(enum.Enum):
    """How a field's value is read and checked."""

    TEXT = enum.auto()
    EMAIL = enum.auto()
    NUMBER = enum.auto()  # a whole number from ``low`` to ``high``
    MONEY = enum.auto()  # a decimal ≥ 0 with at most ``places`` decimals
    SWITCH = enum.auto()  # on or off
    RECORD = enum.auto()  # the id of another record
    BIN_CODE = enum.auto()
    BARCODE = enum.auto()  # EAN/UPC digits


@dataclass(frozen=True)
class Field:
    """One field: its label for people, how it is checked, and whether it must be set."""

    label: str
    kind: Kind = Kind.TEXT
    required: bool = False
    limit: int = 0  # text: most characters
    low: int = 0
    high: int = MAX_NUMBER
    places: int = 2  # money: most decimals
    help: str = ""


def _text(value: Any, f: Field) -> str | None:
    if not isinstance(value, str):
        raise ValueError("must be text")
    text = value.strip()
    if not text:
        return None
    if len(text) > f.limit:
        raise ValueError(f"must be at most {f.limit} characters")
    if not text.isprintable():
        raise ValueError("must be printable characters only (no tabs or line breaks)")
    return text


def _number(value: Any, f: Field) -> int | None:
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        if not (value.isdigit() and len(value) <= 9):
            raise ValueError(f"must be a whole number from {f.low} to {f.high}")
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not f.low <= value <= f.high:
        raise ValueError(f"must be a whole number from {f.low} to {f.high}")
    return value


_DECIMAL_COMMA = re.compile(r"([0-9]+),([0-9]+)")


def _decimal_point(text: str) -> str:
    """``12,50`` as ``12.50``: a decimal comma, as half the world writes money. A comma
    before exactly three digits (``1,234``) could be a thousands separator, so it is
    refused rather than guessed; ``0,125`` is not ambiguous."""
    found = _DECIMAL_COMMA.fullmatch(text)
    if found is None:
        return text
    whole, part = found.groups()
    if len(part) == 3 and whole.strip("0"):
        raise ValueError(f"{text} is ambiguous: write {whole}{part} or {whole}.{part}")
    return f"{whole}.{part}"


def _money(value: Any, f: Field) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("must be an amount such as 12.50 or 12,50")
    text = str(value).strip()
    if not text:
        return None
    text = _decimal_point(text)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError("must be an amount such as 12.50 or 12,50") from None
    exponent = amount.as_tuple().exponent
    if not amount.is_finite() or amount < 0 or amount >= 10**8:
        raise ValueError("must be an amount from 0 to 99999999")
    if isinstance(exponent, int) and exponent < -f.places:
        raise ValueError(f"must have at most {f.places} decimals")
    return amount


def _switch(value: Any, f: Field) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("1", "on", "true"):
        return True
    if value in ("0", "off", "false", ""):
        return False
    raise ValueError("must be on or off (true or false)")


def _one(name: str, value: Any, f: Field) -> Any:
    """``value`` checked and typed as field ``f`` says; ValueError with the reason."""
    if value is None:
        return None
    if f.kind is Kind.SWITCH:
        return _switch(value, f)
    if f.kind is Kind.NUMBER or f.kind is Kind.RECORD:
        return _number(value, f)
    if f.kind is Kind.MONEY:
        return _money(value, f)
    text = _text(value, f)
    if text is None:
        return None
    if f.kind is Kind.EMAIL and not mail.valid_address(text):
        raise ValueError("is not an email address (name@example.com)")
    if f.kind is Kind.BARCODE and not BARCODE_RE.match(text):
        raise ValueError("must be the 8 to 14 digits under the product's barcode")
    if f.kind is Kind.BIN_CODE:
        text = normalise_bin_code(text)
        if not is_valid_bin_code(text):
            raise ValueError(
                f"must be 1–{MAX_BIN_CODE_LENGTH} characters of A–Z, 0–9 and . _ / -, "
                "starting with a letter or a digit"
            )
    return text


def clean(
    fields: Mapping[str, Field],
    values: Mapping[str, Any],
    *,
    creating: bool,
    what: str,
) -> dict[str, Any]:
    """The typed values of ``values`` (only the fields given, unless ``creating``: then
    every required field must be there). Unknown fields are refused (``unknown_field``);
    bad values raise :class:`FieldErrors` for every bad field at once."""
    unknown = [k for k in values if k not in fields]
    if unknown:
        raise ServiceError(
            "unknown_field",
            f"Unknown field(s) for a {what}: {', '.join(sorted(unknown))[:200]}.",
            field=unknown[0],
        )
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, f in fields.items():
        if name not in values:
            if creating and f.required:
                errors[name] = f"{f.label} is required."
            continue
        try:
            value = _one(name, values[name], f)
        except ValueError as exc:
            errors[name] = f"{f.label} {exc}."
            continue
        if value is None and f.required:
            errors[name] = f"{f.label} is required."
            continue
        out[name] = value
    if errors:
        raise FieldErrors(errors)
    return out
