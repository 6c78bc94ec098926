"""Spreadsheet text as spreadsheet programs save it: the separator and whole numbers.

Spreadsheet programs set to most European languages save "CSV" with semicolons, since the
comma is their decimal mark (and with tabs as "text"); a number cell formatted with decimals
comes out as ``12,0`` or ``12.0``. The bins spreadsheet's quantities are whole numbers, so a
decimal part of zeros is accepted and any other is refused.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable

#: The separators tried, in this order, on the header line.
SEPARATORS = (",", ";", "\t")
_WHOLE = re.compile(r"([+-]?\d{1,12})(?:[.,]0+)?")


def separator(text: str, required: Iterable[str]) -> str:
    """The separator that splits the header line into every required column (a comma when
    none does, so that the missing columns are reported as such)."""
    first = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    wanted = set(required)
    for sep in SEPARATORS:
        header = next(csv.reader([first], delimiter=sep), [])
        if wanted <= {h.strip() for h in header}:
            return sep
    return ","


def whole_number(text: str) -> int | None:
    """``12``, ``12,0`` or ``12.00`` as 12; None for anything else (``12,5``, ``1.234``,
    words)."""
    found = _WHOLE.fullmatch(text.strip())
    return int(found.group(1)) if found else None
