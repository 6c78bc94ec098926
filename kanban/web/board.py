"""The board and the bin pages (server-rendered; static/js/board.js keeps the board live)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_login import current_user

from ..domain.sizing import MIN_MEASURED_DELIVERIES
from ..extensions import db
from ..services import ServiceError, bins, sizing
from ..services import board as board_service
from ..services.stock import MAX_QUANTITY
from .forms import form_int
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
    """One bin: stock, card, the recommended card quantity with its demand chart, and the
    recent movements."""
    b = bins.get_bin(code[:64])
    card = bins.bin_dict(b, overdue=b.id in bins.overdue_bin_ids([b.id]))
    advice = sizing.recommendation(
        b.code,
        window_days=current_app.config["DEMAND_DAYS"],
        safety_factor=current_app.config["SAFETY_FACTOR"],
    )
    return render_template(
        "board/bin.html",
        card=card,
        advice=advice,
        chart=board_service.demand_chart(advice.demand),
        can_apply=current_user.role in ("supervisor", "admin"),
        min_deliveries=MIN_MEASURED_DELIVERIES,
        max_quantity=MAX_QUANTITY,
        movements=bins.recent_movements(b.id),
    )


@bp.post("/bins/<path:code>/card-quantity")
@requires("supervisor")
def set_card_quantity(code: str) -> Any:
    """Set the card quantity (the recommended one, or another the supervisor chose)."""
    b = bins.get_bin(code[:64])
    back = redirect(url_for("board.bin_page", code=b.code))
    quantity = form_int("card_quantity", 0, MAX_QUANTITY)
    if quantity is None:
        flash(f"The card quantity must be a whole number from 0 to {MAX_QUANTITY}.", "error")
        return back
    try:
        old, b = sizing.set_card_quantity(b.code, quantity, current_user.username)
        state = b.state
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return back
    if old == quantity:
        flash(f"Bin {b.code}: the card quantity already is {quantity}.", "ok")
    else:
        flash(f"Bin {b.code}: card quantity {old} → {quantity}; the card is {state}.", "ok")
    return back
