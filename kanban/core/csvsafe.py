"""CSV cells that a spreadsheet opens as text, never as a formula (CSV injection).

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, LibreOffice and Google Sheets; such a cell gets a leading apostrophe,
which the spreadsheet shows as text. A negative number (``-12``, ``-1.5``) stays a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _is_negative_number(text: str) -> bool:
    return text[:1] == "-" and text[1:].replace(".", "", 1).isdigit() and text[1:].isascii()


def cell(value: Any) -> str:
    """``value`` as a CSV cell that no spreadsheet runs as a formula: an apostrophe in front
    of a formula start (and of a leading apostrophe, so that :func:`uncell` can tell the
    two apart)."""
    if value is None:
        return ""
    if isinstance(value, bool | int):
        return str(int(value)) if isinstance(value, bool) else str(value)
    text = str(value)
    if text.startswith("'") or (text.startswith(FORMULA_STARTS) and not _is_negative_number(text)):
        return "'" + text
    return text


def uncell(text: str) -> str:
    """A cell as :func:`cell` wrote it, read back (its exact inverse), so that an exported
    file imports again unchanged; any other text is returned as it is."""
    if text.startswith("'") and cell(text[1:]) == text:
        return text[1:]
    return text


def line(values: Iterable[Any]) -> str:
    """One CSV line (CRLF), every cell formula-safe."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow([cell(v) for v in values])
    return buf.getvalue()


def rows_as_csv(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The CSV text of ``header`` and ``rows``, a chunk per row (for a streamed download),
    starting with a UTF-8 byte-order mark so that spreadsheets read the accents right."""
    yield "\ufeff" + line(header)
    for row in rows:
        yield line(row)
