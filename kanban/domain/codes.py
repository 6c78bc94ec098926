"""Scanned text: validation, bounds and command codes (docs/manual/spec.md §3.1, §3.4).

Everything here is pure: it takes the text a scanner or a person typed and says
what it is, or why it is refused. Nothing here touches the database.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from .numbers import whole_number
from .statuses import CommandAction, Mode

#: The longest text a scan may carry. Real labels are far shorter; anything
#: longer is refused before any lookup so a runaway scanner cannot flood logs.
MAX_SCAN_LENGTH = 128

#: Bin codes: printed in large type and as Code 128, so short and human-typable.
MAX_BIN_CODE_LENGTH = 16
#: A bin code appears in URLs (``/bins/<code>``), where "/" separates path segments. So its
#: "/"-separated parts must be segments a browser or proxy leaves alone: never empty (no
#: leading, trailing or double "/") and never "." or ".." (``Z/../A-01-01`` would open
#: A-01-01's page and label).
BIN_CODE_RE = re.compile(
    r"^(?=.{1,16}$)(?!.*//)(?!.*/$)(?!.*/\.{1,2}(?:/|$))[A-Z0-9][A-Z0-9._/-]*$"
)
#: Every character class a bin code may hold (used by label round-trip tests).
BIN_CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-"

#: Command barcodes start with this prefix, which no bin code can carry
#: (bin codes start with a letter or digit).
COMMAND_PREFIX = "*KB:"


#: The longest ``scanned_at`` a scan may carry ("2024-05-01T09:30:00.123456+02:00" is 32).
MAX_SCANNED_AT_LENGTH = 40


class ScanTextError(ValueError):
    """The scanned text cannot be a code; ``code`` is the API error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def clean_scan_text(raw: str | bytes) -> str:
    """Validate and normalise scanned text, or raise :class:`ScanTextError`.

    Scanners add Enter/Tab suffixes and stray spaces; those are stripped.
    Control characters, invalid UTF-8 and over-long text are refused.
    """
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ScanTextError("invalid_code", "The scanned text is not valid UTF-8.") from None
    if not isinstance(raw, str):
        raise ScanTextError("invalid_code", "The scanned code must be text.")
    text = raw.strip(" \t\r\n")
    if not text:
        raise ScanTextError("invalid_code", "The scanned code is empty.")
    if len(text) > MAX_SCAN_LENGTH:
        raise ScanTextError(
            "code_too_long",
            f"The scanned code is longer than {MAX_SCAN_LENGTH} characters.",
        )
    for ch in text:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Cs", "Co", "Cn"):
            raise ScanTextError(
                "invalid_code", "The scanned code contains control or invisible characters."
            )
    return unicodedata.normalize("NFC", text)


def normalise_bin_code(text: str) -> str:
    """Bin codes are case-insensitive when typed; stored upper-case."""
    return text.strip().upper()


def is_valid_bin_code(code: str) -> bool:
    """True if ``code`` may be used as a bin code (and so printed on a label)."""
    return bool(BIN_CODE_RE.fullmatch(code))


def suggest_bin_code(code: str, taken: set[str]) -> str:
    """A valid code close to ``code`` (an old one that breaks today's rules) that is not in
    ``taken``: empty, "." and ".." segments dropped, other characters kept where allowed."""
    kept = [s for s in normalise_bin_code(code).split("/") if s not in ("", ".", "..")]
    base = "/".join(kept)
    base = re.sub(r"[^A-Z0-9._/-]", "-", base).lstrip("._/-")[:MAX_BIN_CODE_LENGTH] or "BIN"
    candidate, n = base, 1
    while not is_valid_bin_code(candidate) or candidate in taken:
        n += 1
        suffix = f"-{n}"
        candidate = base[: MAX_BIN_CODE_LENGTH - len(suffix)].rstrip("/") + suffix
        if n > 10_000:
            raise ValueError(f"no free code near {code!r}")
    return candidate


@dataclass(frozen=True)
class Command:
    """A command barcode: switch mode, set quantity, undo the last scan, or answer the scan
    page's question (confirm or cancel an unusual quantity or an over-receipt)."""

    action: CommandAction
    value: str | int | None = None

    @property
    def text(self) -> str:
        """The text printed in the command's barcode."""
        if self.value is None:  # undo, confirm, cancel
            return f"{COMMAND_PREFIX}{self.action.upper()}"
        if self.action is CommandAction.MODE:
            return f"{COMMAND_PREFIX}MODE:{str(self.value).upper()}"
        return f"{COMMAND_PREFIX}QTY:{self.value}"


MODES: tuple[Mode, ...] = tuple(Mode)
COMMAND_QUANTITIES = tuple(range(1, 11))
#: The commands without a value: the undo and the two answers to a question.
ANSWERS = (CommandAction.CONFIRM, CommandAction.CANCEL)


def all_commands() -> list[Command]:
    """Every command on the printable command sheet, in sheet order."""
    cmds = [Command(CommandAction.MODE, m) for m in MODES]
    cmds += [Command(CommandAction.QUANTITY, q) for q in COMMAND_QUANTITIES]
    cmds.append(Command(CommandAction.UNDO))
    cmds += [Command(a) for a in ANSWERS]
    return cmds


def parse_command(text: str) -> Command | None:
    """Return the command a scanned text encodes, or None if it is not one."""
    if not text.upper().startswith(COMMAND_PREFIX):
        return None
    body = text[len(COMMAND_PREFIX) :].upper()
    if body in ("UNDO", *(a.upper() for a in ANSWERS)):
        return Command(CommandAction(body.lower()))
    if body.startswith("MODE:") and body[5:].lower() in set(MODES):
        return Command(CommandAction.MODE, Mode(body[5:].lower()))
    if body.startswith("QTY:"):
        qty = whole_number(body[4:], max_digits=3)
        if qty in COMMAND_QUANTITIES:
            return Command(CommandAction.QUANTITY, qty)
    return None


def parse_scanned_at(value: object, now: dt.datetime) -> dt.datetime:
    """When the client says a scan was made: ISO 8601 text with a UTC offset ("Z" or
    "+02:00"), at most 40 characters, in UTC. A device clock running ahead cannot place a
    scan after the server received it: a later time is taken as ``now``."""
    if (
        not isinstance(value, str)
        or len(value) > MAX_SCANNED_AT_LENGTH
        or not value.isascii()
        or not value.isprintable()
    ):
        raise ScanTextError("invalid_scanned_at", _SCANNED_AT_HELP)
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ScanTextError("invalid_scanned_at", _SCANNED_AT_HELP) from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise ScanTextError("invalid_scanned_at", _SCANNED_AT_HELP)
    return min(when.astimezone(dt.UTC), now)


_SCANNED_AT_HELP = (
    f"scanned_at must be an ISO 8601 time with its UTC offset, e.g. 2024-05-01T09:30:00Z "
    f"(at most {MAX_SCANNED_AT_LENGTH} characters)."
)


def request_number(request_id: int) -> str:
    """The number people and suppliers quote for a supplier request: ``REQ-00042``."""
    return f"REQ-{request_id:05d}"
