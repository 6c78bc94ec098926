"""What a decode returns: :class:`DecodedCode`, :class:`DecodeError` and GTIN checks.

Texts are the codes' content as a hand-held scanner would type it. EAN/UPC results must
carry a valid check digit and come out in one canonical form whichever engine or library
version read them (see :func:`normalise_gtin`); :func:`clean_results` applies that to the
raw reads of an attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "DecodeError",
    "DecodedCode",
    "bytes_to_text",
    "clean_results",
    "normalise_gtin",
]

_GTIN_FORMATS = frozenset({"EAN13", "UPCA", "EAN8", "UPCE"})


@dataclass(frozen=True)
class DecodedCode:
    """One barcode read from an image.

    ``format`` uses zxing-cpp's names: ``"Code128"``, ``"EAN13"``, ``"UPCA"`` (13 digits, with
    its leading ``0``), ``"EAN8"``, ``"UPCE"``, ``"QRCode"``, ``"DataMatrix"``, ``"Code39"``...
    ``engine`` is ``"zxing-cpp"`` or ``"pyzbar"``.
    """

    text: str
    format: str
    engine: str


class DecodeError(Exception):
    """The upload cannot be decoded; carries what the HTTP API needs to answer.

    ``code`` is a stable machine code (``not_an_image``, ``image_too_large``,
    ``too_many_pixels``, ``decode_timeout``, ``decode_failed``), ``message`` a sentence for a
    human and ``http_status`` the status to answer with.
    """

    def __init__(self, code: str, message: str, http_status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised inside the worker process and pickled back to the caller: rebuild it with
        # all three fields (the default would call DecodeError(message) and fail).
        return (type(self), (self.code, self.message, self.http_status))

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"DecodeError({self.code!r}, {self.message!r}, {self.http_status})"


def bytes_to_text(data: bytes) -> str:
    """A code's raw bytes as text, losslessly."""
    # UTF-8 when the bytes are valid UTF-8 (ZBar transcodes QR text to it), otherwise
    # Latin-1, which maps every byte to one character and is the 1D code sets' own
    # extension (Code 128 FNC4).
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


# --------------------------------------------------------------------------------------------
# GTIN (EAN / UPC) check digits
# --------------------------------------------------------------------------------------------


def _gtin_check_ok(digits: str) -> bool:
    """Mod-10 check of a GTIN-8/12/13/14 (weights 3,1,3,... from the right, check excluded)."""
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def _upce_to_upca(upce: str) -> str | None:
    """Expand an 8-digit UPC-E (number system 0 or 1, 6 digits, check) to its UPC-A."""
    if len(upce) != 8 or upce[0] not in "01":
        return None
    ns, d, check = upce[0], upce[1:7], upce[7]
    last = d[5]
    if last in "012":
        body = d[0:2] + last + "0000" + d[2:5]
    elif last == "3":
        body = d[0:3] + "00000" + d[3:5]
    elif last == "4":
        body = d[0:4] + "00000" + d[4]
    else:
        body = d[0:5] + "0000" + last
    return ns + body + check


def normalise_gtin(text: str, fmt: str) -> str | None:
    """Return the canonical digits of an EAN/UPC code, or ``None`` when it is not valid.

    ``fmt`` is ``"EAN13"``, ``"UPCA"``, ``"EAN8"`` or ``"UPCE"`` (as in
    :attr:`DecodedCode.format`); an empty ``fmt`` (or ``"GTIN"``) guesses from the length
    (8, 12, 13 or 14 digits), which suits codes typed into a spreadsheet. Surrounding
    whitespace is ignored. Canonical forms, so that equal codes compare equal as strings:

    * UPC-A: 13 digits. ``"036602301467"`` and ``"0036602301467"`` both give
      ``"0036602301467"``, its EAN-13 form.
    * UPC-E: expanded to the same 13-digit form (``"01234565"`` and ``"0012345000065"`` both
      give ``"0012345000065"``), which is how zxing-cpp 3 and ZBar report it.
    * EAN-13 and EAN-8: unchanged. GTIN-14: unchanged, or 13 digits when it starts with 0.

    Returns ``None`` for a wrong check digit, a wrong length, anything but ASCII digits, or a
    ``fmt`` that is not a GTIN format (``"Code128"``, ``"QRCode"``...).
    """
    digits = text.strip()
    if not digits.isascii() or not digits.isdigit():
        return None
    fmt = fmt.strip().upper().replace("-", "").replace("_", "")
    if fmt in ("", "GTIN"):
        fmt = {8: "EAN8", 12: "UPCA", 13: "EAN13", 14: "GTIN14"}.get(len(digits), "")
    if fmt == "UPCE" and len(digits) == 8:
        expanded = _upce_to_upca(digits)
        if expanded is None:
            return None
        digits, fmt = expanded, "UPCA"
    if fmt in ("UPCA", "UPCE"):
        if len(digits) == 12:
            digits = "0" + digits
        if len(digits) != 13 or digits[0] != "0":
            return None
    elif fmt == "GTIN14":
        if len(digits) != 14:
            return None
        if digits[0] == "0":
            digits = digits[1:]
    elif fmt not in ("EAN13", "EAN8") or len(digits) != (13 if fmt == "EAN13" else 8):
        return None
    return digits if _gtin_check_ok(digits) else None


def clean_results(results: list[DecodedCode]) -> list[DecodedCode]:
    """Validate EAN/UPC check digits, canonicalise UPC-A, drop duplicates (first wins)."""
    out: list[DecodedCode] = []
    seen: set[tuple[str, str]] = set()
    for res in results:
        if res.format in _GTIN_FORMATS:
            fmt = res.format
            # An EAN-13 starting with 0 is, bar for bar, a UPC-A; engines (and zxing-cpp
            # versions) disagree on which name they give it.
            if fmt == "EAN13" and len(res.text) == 13 and res.text.startswith("0"):
                fmt = "UPCA"
            digits = normalise_gtin(res.text, fmt)
            if digits is None:
                continue
            res = DecodedCode(digits, fmt, res.engine)
        key = (res.text, res.format)
        if key not in seen:
            seen.add(key)
            out.append(res)
    return out
