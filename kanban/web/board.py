"""The board and the bin pages (server-rendered; static/js/board.js keeps the board live)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask.blueprints import BlueprintSetupState

from ..services import bins
from ..services import board as board_service
from .security import requires

bp = Blueprint("board", __name__)

STATE_LOOK = {
    "stocked": {"word": "Stocked", "icon": "✔"},
    "replenish": {"word": "Replenish", "icon": "⬇"},
    "ordered": {"word": "Ordered", "icon": "🚚"},
}


@bp.record_once
def _template_globals(state: BlueprintSetupState) -> None:
    # Globals, not a context processor: the card macros are imported without context.
    state.app.jinja_env.globals.update(
        STATE_LOOK=STATE_LOOK, card_level=board_service.level, card_age=board_service.age_text
    )


def board_args() -> tuple[board_service.BoardFilter, str]:
    """The filter and the view (zones or columns) asked for in the query string."""
    view = request.args.get("view", "zones")
    return (
        board_service.BoardFilter.from_args(request.args),
        view if view in board_service.VIEWS else "zones",
    )


@bp.get("/")
@bp.get("/board")
@requires("operator")
def board() -> Any:
    """All bins as cards, by zone or in state columns, with filters and search."""
    filt, view = board_args()
    data = board_service.load_board(filt)
    return render_template("board/board.html", board=data, view=view)


@bp.get("/bins/<path:code>")
@requires("operator")
def bin_page(code: str) -> Any:
    """One bin: stock, card, recent movements."""
    b = bins.get_bin(code[:64])
    card = bins.bin_dict(b, overdue=b.id in bins.overdue_bin_ids([b.id]))
    return render_template("board/bin.html", card=card, movements=bins.recent_movements(b.id))
