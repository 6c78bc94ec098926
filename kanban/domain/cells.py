"""Spreadsheet cells that a spreadsheet program would run as a formula ("CSV injection").

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to
Excel and LibreOffice; a leading apostrophe makes it text. :func:`safe_cell` adds one and
:func:`plain_cell` takes it off again, so that a file written by the site and read back by
the site gives the same text (a value that itself starts with ``'`` gets a second one).
Negative numbers (``-12``, ``-1.5``) are numbers, not formulas, and stay as they are.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _is_negative_number(value: str) -> bool:
    return value[:1] == "-" and value[1:].replace(".", "", 1).isdigit() and value[1:].isascii()


def safe_cell(value: str) -> str:
    """``value`` as a cell no spreadsheet runs: an apostrophe in front of a formula start
    (and of a leading apostrophe, so that :func:`plain_cell` can tell them apart)."""
    if value.startswith("'") or (
        value.startswith(FORMULA_STARTS) and not _is_negative_number(value)
    ):
        return "'" + value
    return value


def plain_cell(value: str) -> str:
    """The text that :func:`safe_cell` turned into ``value`` (the inverse on its output);
    any other value is returned as it is."""
    if value.startswith("'") and safe_cell(value[1:]) == value:
        return value[1:]
    return value
