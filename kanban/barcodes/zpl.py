"""Low-level ZPL II helpers: safe field text and a structural parser (docs/manual/spec.md §5).

The label renderer in :mod:`kanban.barcodes.label_zpl` builds ZPL with these helpers. The
parser is the other half: tests (and anything else that wants to check a ZPL job before it
reaches a printer) use it to see every field, where it sits and what it prints.

ZPL treats ``^`` (format prefix) and ``~`` (control prefix) as commands *anywhere* in the
stream, including inside field data: an item name such as ``"Bolt ~JA"`` would cancel every
job queued on the printer. So user text never reaches the stream raw. Every field that
carries user text is sent with ``^FH`` and the three characters that matter (``^``, ``~`` and
the ``_`` hex indicator itself) are written as ``_5E``, ``_7E`` and ``_5F``. Inside a field
block (``^FB``) the backslash starts an escape of its own (``\\&`` is a line break), so a
literal backslash is written as the field-block escape ``\\\\``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

#: The hex indicator used with ``^FH`` (the ZPL default).
HEX_INDICATOR = "_"

_ESCAPED = {"^": "_5E", "~": "_7E", "_": "_5F"}
_HEX_RE = re.compile(r"_([0-9A-Fa-f]{2})")
_TOKEN_RE = re.compile(r"[\^~]")


def clean_text(text: object) -> str:
    """Return ``text`` as one printable line.

    Newlines and tabs become spaces, other control and invisible characters are dropped
    and runs of spaces collapse, so a label line is always a single line of visible text.
    """
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", str(text)):
        if ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        else:
            out.append(ch)
    return " ".join("".join(out).split())


def escape_field_data(text: str) -> str:
    """Escape ``text`` for a ``^FH`` + ``^FB`` field so it cannot inject ZPL commands."""
    parts: list[str] = []
    for ch in text:
        if ch in _ESCAPED:
            parts.append(_ESCAPED[ch])
        elif ch == "\\":
            parts.append("\\\\")
        else:
            parts.append(ch)
    return "".join(parts)


def unescape_field_data(data: str, *, hex_escapes: bool, field_block: bool) -> str:
    """Undo :func:`escape_field_data` (what the printer does with ``^FH``/``^FB`` data)."""
    if hex_escapes:
        # ^FH escapes are bytes; with ^CI28 the bytes of the field form UTF-8.
        out = bytearray()
        pos = 0
        for m in _HEX_RE.finditer(data):
            out += data[pos : m.start()].encode("utf-8")
            out.append(int(m.group(1), 16))
            pos = m.end()
        out += data[pos:].encode("utf-8")
        data = out.decode("utf-8", "replace")
    if field_block:
        data = data.replace("\\\\", "\\")
    return data


@dataclass
class ZplField:
    """One ``^FO … ^FS`` field of a label, with the state that applies to it."""

    x: int
    y: int
    commands: list[tuple[str, str]] = field(default_factory=list)
    raw_data: str | None = None
    #: ``^A0`` font height and width in dots, for text fields.
    font: tuple[int, int] | None = None
    #: ``^FB`` block width in dots, max lines and justification.
    block: tuple[int, int, str] | None = None
    hex_escapes: bool = False
    #: ``^BC`` barcode: (height in dots, mode); ``module`` is the ``^BY`` width in effect.
    barcode: tuple[int, str] | None = None
    module: int | None = None

    @property
    def data(self) -> str | None:
        """The field's text as the printer will print it."""
        if self.raw_data is None:
            return None
        return unescape_field_data(
            self.raw_data, hex_escapes=self.hex_escapes, field_block=self.block is not None
        )


@dataclass
class ZplLabel:
    """One ``^XA … ^XZ`` format."""

    commands: list[tuple[str, str]] = field(default_factory=list)
    fields: list[ZplField] = field(default_factory=list)
    width: int | None = None  # ^PW, dots
    length: int | None = None  # ^LL, dots
    copies: int = 1  # ^PQ
    charset: str | None = None  # ^CI

    @property
    def text_fields(self) -> list[ZplField]:
        """The fields that print text (``^A0``)."""
        return [f for f in self.fields if f.font is not None]

    @property
    def barcode_fields(self) -> list[ZplField]:
        """The fields that print a Code 128 barcode (``^BC``)."""
        return [f for f in self.fields if f.barcode is not None]


class ZplParseError(ValueError):
    """The text is not ZPL of the shape this product writes."""


def _ints(params: str) -> list[int]:
    return [int(p) for p in params.split(",") if p.strip()]


def _commands(text: str) -> Iterator[tuple[str, str]]:
    """Each ``^`` command of ``text`` as (name, parameters), in order.

    Parameters are stripped, except ``^FD`` field data, which is kept exactly. Text before
    the first command and any ``~`` control command raise :class:`ZplParseError`.
    """
    positions = [m.start() for m in _TOKEN_RE.finditer(text)]
    if text[: positions[0] if positions else len(text)].strip():
        raise ZplParseError("text before the first command")
    for i, start in enumerate(positions):
        end = positions[i + 1] if i + 1 < len(positions) else len(text)
        token = text[start:end]
        if token[0] == "~":
            raise ZplParseError(f"control command {token[:3]!r} in the stream")
        name, params = token[1:3].upper(), token[3:]
        yield name, (params if name == "FD" else params.strip())


def _field_command(fld: ZplField, name: str, params: str, module: int | None) -> None:
    """Record a command of an open field (``^A0 ^FB ^FH ^FD ^BC ^FS``) in ``fld``.

    ``module`` is the ``^BY`` module width in effect, for a ``^BC`` barcode.
    """
    fld.commands.append((name, params))
    if name == "A0":
        orient, *dims = params.split(",")
        h, w = (int(dims[0]), int(dims[1] if len(dims) > 1 and dims[1] else dims[0]))
        fld.font = (h, w)
    elif name == "FB":
        parts = params.split(",")
        fld.block = (int(parts[0]), int(parts[1] or 1), (parts[3:4] or ["L"])[0] or "L")
    elif name == "FH":
        if params not in ("", HEX_INDICATOR):
            raise ZplParseError("unexpected ^FH indicator")
        fld.hex_escapes = True
    elif name == "FD":
        fld.raw_data = params
    elif name == "BC":
        parts = params.split(",")
        fld.barcode = (int(parts[1]), parts[5] if len(parts) > 5 else "N")
        fld.module = module


def parse_zpl(text: str) -> list[ZplLabel]:
    """Parse ZPL into labels and fields.

    It understands the commands this product writes (``^XA ^XZ ^CI ^PW ^LL ^LH ^FO ^A0 ^FB
    ^FH ^FD ^FS ^BY ^BC ^PQ``) and records any other command in ``commands`` so a caller
    can refuse it. Any ``~`` control command, command outside ``^XA … ^XZ`` or field left
    open raises :class:`ZplParseError`.
    """
    labels: list[ZplLabel] = []
    current: ZplLabel | None = None
    fld: ZplField | None = None
    module: int | None = None
    for name, params in _commands(text):
        if name == "XA":
            if current is not None:
                raise ZplParseError("^XA inside a format")
            current = ZplLabel()
            module = None
            continue
        if current is None:
            raise ZplParseError(f"^{name} outside ^XA … ^XZ")
        current.commands.append((name, params))
        if name == "XZ":
            if fld is not None:
                raise ZplParseError("field not closed with ^FS before ^XZ")
            labels.append(current)
            current = None
        elif name == "PW":
            current.width = int(params)
        elif name == "LL":
            current.length = int(params)
        elif name == "PQ":
            current.copies = int(params.split(",")[0])
        elif name == "CI":
            current.charset = params
        elif name == "BY":
            module = _ints(params)[0]
        elif name == "FO":
            if fld is not None:
                raise ZplParseError("^FO inside an open field")
            x, y = (_ints(params) + [0, 0])[:2]
            fld = ZplField(x=x, y=y)
        elif name in ("A0", "FB", "FH", "FD", "BC", "FS"):
            if fld is None:
                raise ZplParseError(f"^{name} outside a field")
            _field_command(fld, name, params, module)
            if name == "FS":
                current.fields.append(fld)
                fld = None
    if current is not None:
        raise ZplParseError("format not closed with ^XZ")
    return labels
