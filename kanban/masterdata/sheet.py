"""The bins spreadsheet (docs/manual/spec.md §8.3): its columns and the row-by-row check of an
uploaded file. Nothing here reads or writes the database (that is :mod:`.imports`)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from ..core import csvsafe
from ..domain.codes import MAX_BIN_CODE_LENGTH, is_valid_bin_code, normalise_bin_code
from ..purchasing import mail
from . import csvtext

COLUMNS = [
    "code",
    "sku",
    "item_name",
    "zone",
    "supplier",
    "supplier_email",
    "on_hand",
    "card_quantity",
    "order_quantity",
    "pull_quantity",
    "lead_time_days",
]
REQUIRED = COLUMNS[:9]
MAX_ROWS = 20_000
MAX_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Row:
    """One valid spreadsheet row."""

    line: int
    code: str
    sku: str
    item_name: str
    zone: str
    supplier: str
    supplier_email: str | None
    on_hand: int
    card_quantity: int
    order_quantity: int
    pull_quantity: int
    lead_time_days: int | None


@dataclass
class ImportReport:
    """What an import did (or, for a dry run, would do)."""

    rows: list[Row] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    created: int = 0  # new bins
    updated: int = 0  # bins the import changes
    unchanged: int = 0  # bins already as the file says
    dry_run: bool = False
    changes: list[Any] = field(default_factory=list)  # each row against its bin (RowChange)

    @property
    def ok(self) -> bool:
        """True when every row is valid."""
        return not self.errors

    @property
    def summary(self) -> str:
        """The counts, the same words for the preview, the import and the CLI."""
        bins = "bin" if self.created == 1 else "bins"
        return f"{self.created} {bins} created, {self.updated} updated, {self.unchanged} unchanged"


def _int(value: str, name: str, low: int, errors: list[str], line: int) -> int | None:
    n = csvtext.whole_number(value)  # 12, or 12,0 as a spreadsheet may save it
    if n is None:
        errors.append(f"line {line}: {name} must be a whole number, got {value[:20]!r}")
        return None
    if n < low or n > 1_000_000:
        errors.append(f"line {line}: {name} must be between {low} and 1000000")
        return None
    return n


def _text(row: dict[str, str], name: str, limit: int, errors: list[str], line: int) -> str:
    # A cell the export kept from running as a formula ('=…) reads back as it was.
    value = csvsafe.uncell((row.get(name) or "").strip())
    if not value:
        errors.append(f"line {line}: {name} is empty")
    elif len(value) > limit or not value.isprintable():
        errors.append(f"line {line}: {name} must be at most {limit} printable characters")
    return value


# long: one pass over the rows, checking each column in the order of the spreadsheet
def parse(data: bytes | str) -> ImportReport:
    """Validate a spreadsheet; returns the rows and every error with its line number."""
    report = ImportReport()
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            report.errors.append(f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
            return report
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            report.errors.append("file is not UTF-8 text")
            return report
    if "\x00" in data:
        report.errors.append("file is not a CSV text file")
        return report
    # Comma, or semicolon as European spreadsheets save it (or tab): the header tells.
    sep = csvtext.separator(data, REQUIRED)
    reader = csv.DictReader(io.StringIO(data, newline=""), delimiter=sep)
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        report.errors.append(f"line 1: missing column(s): {', '.join(missing)}")
        return report
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        report.errors.append(f"line 1: unknown column(s): {', '.join(unknown)}")
        return report
    reader.fieldnames = header
    seen: dict[str, int] = {}
    sku_names: dict[str, str] = {}
    try:
        for index, raw in enumerate(reader):
            line = index + 2
            if index >= MAX_ROWS:
                report.errors.append(f"line {line}: more than {MAX_ROWS} rows")
                break
            if None in raw:
                report.errors.append(f"line {line}: more fields than columns")
                continue
            errs: list[str] = []
            code = normalise_bin_code(raw.get("code") or "")
            if not is_valid_bin_code(code):
                errs.append(
                    f"line {line}: code {code[:20]!r} is not a valid bin code "
                    f"(A–Z, 0–9 and . _ / -, at most {MAX_BIN_CODE_LENGTH} characters)"
                )
            elif code in seen:
                errs.append(f"line {line}: code {code} repeats line {seen[code]}")
            sku = _text(raw, "sku", 64, errs, line)
            name = _text(raw, "item_name", 200, errs, line)
            zone = _text(raw, "zone", 80, errs, line)
            supplier = _text(raw, "supplier", 120, errs, line)
            email = csvsafe.uncell((raw.get("supplier_email") or "").strip()) or None
            if email and not mail.valid_address(email):
                errs.append(f"line {line}: supplier_email {email[:40]!r} is not an address")
            if sku and name and sku_names.setdefault(sku, name) != name:
                errs.append(f"line {line}: SKU {sku} has another item_name above")
            on_hand = _int(raw.get("on_hand") or "", "on_hand", 0, errs, line)
            card = _int(raw.get("card_quantity") or "", "card_quantity", 0, errs, line)
            order = _int(raw.get("order_quantity") or "", "order_quantity", 1, errs, line)
            pull_raw = (raw.get("pull_quantity") or "").strip()
            pull = _int(pull_raw, "pull_quantity", 1, errs, line) if pull_raw else 1
            lead_raw = (raw.get("lead_time_days") or "").strip()
            lead = _int(lead_raw, "lead_time_days", 0, errs, line) if lead_raw else None
            if errs:
                report.errors.extend(errs)
                continue
            seen[code] = line
            assert on_hand is not None and card is not None and order is not None
            assert pull is not None
            report.rows.append(
                Row(line, code, sku, name, zone, supplier, email, on_hand, card, order, pull, lead)
            )
    except csv.Error as exc:
        report.errors.append(f"line {reader.line_num}: not valid CSV ({exc})")
    if not report.rows and not report.errors:
        report.errors.append("file has no rows")
    return report
