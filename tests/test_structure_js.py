"""The browser code keeps its shape: small plain modules that take the enums from the server.

static/js holds ES modules of at most 250 lines, each opening with a comment that says what
it owns (STYLE.md). No module spells a card state, request or line status, event kind, mode
or role of its own: they come from static/js/vocab.js, which reads the page's vocabulary
block (kanban/web/vocab.py). static/vendor (third-party code) is not ours to shape.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kanban.domain.cards import CardState
from kanban.domain.statuses import EventKind, LineStatus, Mode, RequestStatus, Role

JS = Path(__file__).resolve().parents[1] / "static" / "js"
MAX_LINES = 250

#: The values no module may quote. Left out on purpose, because the same words name other
#: things in the page: MovementKind ("undo" is also a command barcode's action and a banner
#: outcome), Source ("camera" is also an element id and an error code) and SentVia
#: ("sending" is also the outbox's own state).
CHECKED = (CardState, RequestStatus, LineStatus, EventKind, Mode, Role)
FORBIDDEN = {m.value for enum in CHECKED for m in enum}
QUOTED = re.compile(r"""(['"`])([^'"`\\\n]*)\1""")


def modules() -> list[Path]:
    found = sorted(JS.rglob("*.js"))
    assert found, f"no JavaScript under {JS}"
    return found


def quoted_values(source: str) -> list[str]:
    """The quoted strings of ``source`` that equal an enum value of CHECKED."""
    return [m[2] for m in QUOTED.finditer(source) if m[2] in FORBIDDEN]


def test_the_check_finds_quoted_enum_values() -> None:
    sample = "if (s === 'ordered' || k === \"bin.changed\" || m === `pull`) show('ok', 'count-n');"
    assert quoted_values(sample) == ["ordered", "bin.changed", "pull"]


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.name)
def test_a_module_is_at_most_250_lines(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines: split it by concern"


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.name)
def test_a_module_opens_with_what_it_owns(path: Path) -> None:
    assert path.read_text().startswith(("//", "/*")), f"{path.name}: no opening comment"


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.name)
def test_a_module_takes_enum_values_from_vocab_js(path: Path) -> None:
    found = quoted_values(path.read_text())
    assert found == [], f"{path.name} spells {found}: import them from vocab.js"
