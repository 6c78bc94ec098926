"""Readable by everyone (docs/manual/supervisors.md "The board", "Wall mode on a TV"): the
state colours that
static/css actually uses stay apart for people with red-green colour blindness, and
Stockout and Overdue never look alike.

Colour vision deficiency is simulated with the matrices of Machado, Oliveira and Fernandes
(2009) at full severity (protanopia, deuteranopia), applied in linear RGB; the distance
between two colours is CIEDE2000 (ΔE00) in CIELAB (D65). ΔE00 ≥ 20 is a difference anyone
sees at a glance (2.3 is a just-noticeable one): that is what two states must keep.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CSS = ROOT / "static" / "css"
CARDS = (ROOT / "templates" / "board" / "_cards.html").read_text()

#: The least ΔE00 between the colours of two states, for every kind of vision tested.
MIN_DELTA_E = 20.0
#: Severity-1.0 matrices (Machado et al. 2009), linear RGB.
MACHADO = {
    "normal": ((1, 0, 0), (0, 1, 0), (0, 0, 1)),
    "protanopia": (
        (0.152286, 1.052583, -0.204868),
        (0.114503, 0.786281, 0.099216),
        (-0.003882, -0.048116, 1.051998),
    ),
    "deuteranopia": (
        (0.367322, 0.860646, -0.227968),
        (0.280085, 0.672501, 0.047413),
        (-0.011820, 0.042940, 0.968881),
    ),
}
#: The palettes: light (board and other pages) and dark (the wall), where each is declared.
PALETTES = {
    "board": ("board.css", ":root"),
    "pages": ("app.css", ":root"),
    "wall": ("wall.css", "body.wall-mode"),
}
STATES = ("stocked", "replenish", "ordered")


def rules(css: str) -> list[tuple[str, dict[str, str]]]:
    """(selector, {property: value}) of every innermost rule, comments removed."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    out = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        decls = {}
        for decl in body.split(";"):
            name, sep, value = decl.partition(":")
            if sep:
                decls[name.strip()] = value.strip()
        out.append((" ".join(selector.split()), decls))
    return out


def palette(name: str) -> dict[str, str]:
    """The custom properties a palette declares."""
    file, selector = PALETTES[name]
    found: dict[str, str] = {}
    for sel, decls in rules((CSS / file).read_text()):
        if sel == selector:
            found |= {k: v for k, v in decls.items() if k.startswith("--")}
    return found


def hex_colour(value: str) -> tuple[float, float, float]:
    found = re.search(r"#([0-9a-fA-F]{6})\b", value)
    assert found, f"not a #rrggbb colour: {value!r}"
    h = found.group(1)
    return (int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255)


def simulate(rgb: tuple[float, float, float], vision: str) -> tuple[float, float, float]:
    """The colour as a person with this vision sees it (linear RGB, clipped)."""
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    m = MACHADO[vision]
    r, g, b = (min(1.0, max(0.0, sum(m[i][j] * lin[j] for j in range(3)))) for i in range(3))
    return r, g, b


def lab(lin: tuple[float, float, float]) -> tuple[float, float, float]:
    r, g, b = lin
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def delta_e00(c1: tuple[float, float, float], c2: tuple[float, float, float]) -> float:
    """CIEDE2000 (Sharma, Wu and Dalal 2005)."""
    (l1, a1, b1), (l2, a2, b2) = c1, c2
    cbar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(cbar**7 / (cbar**7 + 25**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360
    h2p = math.degrees(math.atan2(b2, a2p)) % 360
    dh = h2p - h1p
    if c1p * c2p == 0:
        dh = 0.0
    elif dh > 180:
        dh -= 360
    elif dh < -180:
        dh += 360
    dl, dc = l2 - l1, c2p - c1p
    dhh = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    lbar, cbarp = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        hbar = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        hbar = (h1p + h2p) / 2
    else:
        hbar = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (
        1
        - 0.17 * math.cos(math.radians(hbar - 30))
        + 0.24 * math.cos(math.radians(2 * hbar))
        + 0.32 * math.cos(math.radians(3 * hbar + 6))
        - 0.20 * math.cos(math.radians(4 * hbar - 63))
    )
    rc = 2 * math.sqrt(cbarp**7 / (cbarp**7 + 25**7))
    rt = -math.sin(math.radians(60 * math.exp(-(((hbar - 275) / 25) ** 2)))) * rc
    sl = 1 + 0.015 * (lbar - 50) ** 2 / math.sqrt(20 + (lbar - 50) ** 2)
    sc, sh = 1 + 0.045 * cbarp, 1 + 0.015 * cbarp * t
    return math.sqrt(
        (dl / sl) ** 2 + (dc / sc) ** 2 + (dhh / sh) ** 2 + rt * (dc / sc) * (dhh / sh)
    )


def distance(a: str, b: str, vision: str) -> float:
    return delta_e00(lab(simulate(hex_colour(a), vision)), lab(simulate(hex_colour(b), vision)))


def test_the_colour_maths_is_right() -> None:
    # Sharma et al.'s published pair 1 (ΔE00 = 2.0425), and sRGB white in Lab.
    assert delta_e00((50, 2.6772, -79.7751), (50, 0, -82.7485)) == pytest.approx(2.0425, abs=1e-4)
    assert lab(simulate((1, 1, 1), "normal")) == pytest.approx((100, 0, 0), abs=0.01)
    # The red-green pair this issue began with turns olive for deuteranopes.
    assert distance("#45d07a", "#ff6464", "deuteranopia") < 10


def test_the_state_colours_are_the_ones_the_css_uses() -> None:
    used = " ".join(p.read_text() for p in CSS.glob("*.css"))
    for name in PALETTES:
        declared = palette(name)
        for state in STATES:
            assert f"--{state}" in declared, (name, state)
            assert f"var(--{state})" in used, state


@pytest.mark.parametrize("name", list(PALETTES))
@pytest.mark.parametrize("vision", list(MACHADO))
def test_state_colours_stay_apart_in_red_green_colour_blindness(name: str, vision: str) -> None:
    colours = palette(name)
    for a, b in itertools.combinations(STATES, 2):
        d = distance(colours[f"--{a}"], colours[f"--{b}"], vision)
        assert d >= MIN_DELTA_E, f"{name}: {a} and {b} for {vision}: ΔE00 {d:.1f}"


def _rule(file: str, selector: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for sel, decls in rules((CSS / file).read_text()):
        if selector in [s.strip() for s in sel.split(",")]:
            found |= decls
    assert found, f"{file} has no rule {selector}"
    return found


def _resolve(value: str, colours: dict[str, str]) -> str:
    return re.sub(r"var\((--[\w-]+)\)", lambda m: colours[m.group(1)], value)


@pytest.mark.parametrize(
    ("file", "prefix", "palette_name"),
    [("board.css", "", "board"), ("wall.css", ".wall ", "wall")],
)
@pytest.mark.parametrize("vision", list(MACHADO))
def test_stockout_and_overdue_differ_in_colour_pattern_icon_and_word(
    file: str, prefix: str, palette_name: str, vision: str
) -> None:
    colours = palette(palette_name)
    stockout = _resolve(_rule(file, f"{prefix}.badge-stockout")["background"], colours)
    overdue = _resolve(_rule(file, f"{prefix}.badge-overdue")["background"], colours)
    assert distance(stockout, overdue, vision) >= MIN_DELTA_E
    # A pattern: stripes on overdue, a solid fill on stockout.
    assert "--overdue-stripes" in _rule(file, f"{prefix}.badge-overdue")["background"]
    assert "gradient" not in stockout
    # Another icon and another word (templates/board/_cards.html, static/js/cards.js).
    assert re.search(r'badge-stockout">.*?#alert".*?>Stockout<', CARDS)
    assert re.search(r'badge-overdue">.*?#late".*?>Overdue<', CARDS)
