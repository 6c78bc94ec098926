"""The board and the bin pages (server-rendered)."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from flask import Blueprint, render_template

from ..services import bins
from .security import requires

bp = Blueprint("board", __name__)

STATE_LOOK = {
    "stocked": {"word": "Stocked", "icon": "✔"},
    "replenish": {"word": "Replenish", "icon": "⬇"},
    "ordered": {"word": "Ordered", "icon": "🚚"},
}


@bp.app_context_processor
def _look() -> dict[str, Any]:
    return {"STATE_LOOK": STATE_LOOK}


@bp.get("/")
@bp.get("/board")
@requires("operator")
def board() -> Any:
    """All bins grouped by zone with their card state."""
    all_bins = bins.list_bins()
    overdue = bins.overdue_bin_ids()
    cards = [bins.bin_dict(b, overdue=b.id in overdue) for b in all_bins]
    cards.sort(key=lambda c: (c["zone"], c["code"]))
    zones = [(zone, list(group)) for zone, group in groupby(cards, key=lambda c: c["zone"])]
    counts = {s: sum(1 for c in cards if c["state"] == s) for s in STATE_LOOK}
    return render_template("board/board.html", zones=zones, counts=counts)


@bp.get("/bins/<code>")
@requires("operator")
def bin_page(code: str) -> Any:
    """One bin: stock, card, recent movements."""
    b = bins.get_bin(code[:64])
    card = bins.bin_dict(b, overdue=b.id in bins.overdue_bin_ids([b.id]))
    return render_template("board/bin.html", card=card, movements=bins.recent_movements(b.id))
