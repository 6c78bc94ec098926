"""The board and the bin pages (server-rendered; static/js/board.js keeps the board live)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_login import current_user

from ..auth import users as auth_service
from ..board import queries as board_service
from ..cards import lines as card_lines
from ..catalog import views as bins
from ..core import audit
from ..core.errors import ServiceError
from ..domain.codes import request_number
from ..domain.numbers import whole_number
from ..domain.sizing import MIN_MEASURED_DELIVERIES
from ..domain.statuses import AuditObject, RequestStatus, Role, Source
from ..extensions import db
from ..masterdata import bins as catalog
from ..sizing import loop as sizing
from ..stock.scanning import MAX_QUANTITY
from .forms import form_int
from .security import actor, requires

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
@requires(Role.OPERATOR)
def board() -> Any:
    """All bins as cards, by zone or in state columns, with filters and search."""
    filt, view = board_args()
    data = board_service.load_board(filt, scope_above=current_app.config["BOARD_SCOPE_ABOVE"])
    can_edit = auth_service.has_role(current_user.role, Role.SUPERVISOR)
    return render_template("board/board.html", board=data, view=view, can_edit=can_edit)


@bp.get("/bins/sizing")
@requires(Role.SUPERVISOR)
def sizing_overview() -> Any:
    """Every active bin's recommended card quantity, the ones to change first."""
    rows = sizing.overview(
        window_days=current_app.config["DEMAND_DAYS"],
        safety_factor=current_app.config["SAFETY_FACTOR"],
    )
    zone, supplier = request.args.get("zone", "")[:120], request.args.get("supplier", "")[:120]
    show_all = request.args.get("show") == "all"
    shown = sizing.shortlist(rows, zone=zone, supplier=supplier, show_all=show_all)
    return render_template(
        "bins/sizing.html",
        rows=shown,
        total=len(rows),
        to_change=sum(1 for r in rows if r.to_change),
        zones=sorted({r.zone for r in rows}),
        suppliers=sorted({r.supplier for r in rows}),
        zone=zone,
        supplier=supplier,
        show_all=show_all,
        window_days=current_app.config["DEMAND_DAYS"],
        safety_factor=current_app.config["SAFETY_FACTOR"],
    )


@bp.post("/bins/sizing")
@requires(Role.SUPERVISOR)
def apply_sizes() -> Any:
    """The ticked recommendations: first what applying them would change (cards, request
    lines), to confirm; with ``confirm=1`` apply them all in one go (or none, if any is bad)."""
    back = redirect(url_for("board.sizing_overview") + _sizing_query())
    wanted: dict[str, int] = {}
    for value in request.form.getlist("apply")[:5000]:
        code, _, raw = value.rpartition(":")
        quantity = whole_number(raw, max_digits=9)
        if not code or quantity is None or quantity > MAX_QUANTITY:
            flash("A ticked bin came with an impossible quantity: nothing was changed.", "error")
            return back
        wanted[code] = quantity
    if not wanted:
        flash("Tick the bins whose card size to apply.", "error")
        return back
    try:
        if request.form.get("confirm") != "1":
            plan = sizing.plan_apply(wanted)
            db.session.rollback()
            return render_template(
                "bins/sizing_confirm.html", plan=plan, back_query=_sizing_query()
            )
        changed = sizing.apply_many(wanted, actor(source=Source.FORM))
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        flash(f"{exc.message} Nothing was changed.", "error")
        return back
    flash(f"Card size applied to {len(changed)} bin{'' if len(changed) == 1 else 's'}.", "ok")
    return back


def _sizing_query() -> str:
    """The overview's filters, carried through the form, as a query string."""
    args = {k: v[:120] for k in ("zone", "supplier", "show") if (v := request.form.get(k, ""))}
    return f"?{urlencode(args)}" if args else ""


@bp.get("/bins/<path:code>")
@requires(Role.OPERATOR)
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
    can_apply = auth_service.has_role(current_user.role, Role.SUPERVISOR)
    line = card_lines.open_line(b.id)
    return render_template(
        "board/bin.html",
        card=card,
        unit=b.item.unit,
        draft_number=(
            request_number(line.request_id)
            if line is not None and line.request.status == RequestStatus.DRAFT
            else None
        ),
        advice=advice,
        chart=board_service.demand_chart(advice.demand),
        can_apply=can_apply,
        min_deliveries=MIN_MEASURED_DELIVERIES,
        max_quantity=MAX_QUANTITY,
        movements=bins.recent_movements(b.id),
        history=audit.history(AuditObject.BIN, b.id) if can_apply else [],
        label_offer=request.args.get("label") if can_apply else None,
        renamed_from=request.args.get("from", "")[:16],
    )


@bp.get("/bins/retired")
@requires(Role.SUPERVISOR)
def retired() -> Any:
    """The retired bins, each with *Bring back*."""
    return render_template("board/retired.html", retired=bins.retired_bins())


@bp.post("/bins/<path:code>/active")
@requires(Role.SUPERVISOR)
def set_bin_active(code: str) -> Any:
    """Retire a bin (``active=0``) or bring it back (``active=1``)."""
    b = bins.get_bin(code[:64])
    active = request.form.get("active") == "1"
    try:
        b = catalog.set_bin_active(b.code, active, actor(source=Source.FORM))
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("board.bin_page", code=b.code))
    if active:
        flash(f"Bin {b.code} is back on the board; its card is {b.state}.", "ok")
    else:
        flash(f"Bin {b.code} is retired: it left the board and its label no longer scans.", "ok")
    return redirect(url_for("board.bin_page", code=b.code))


@bp.post("/bins/<path:code>/card-quantity")
@requires(Role.SUPERVISOR)
def set_card_quantity(code: str) -> Any:
    """Set the card quantity (the recommended one, or another the supervisor chose)."""
    b = bins.get_bin(code[:64])
    back = redirect(url_for("board.bin_page", code=b.code))
    quantity = form_int("card_quantity", 0, MAX_QUANTITY)
    if quantity is None:
        flash(f"The card quantity must be a whole number from 0 to {MAX_QUANTITY}.", "error")
        return back
    try:
        old, b = sizing.set_card_quantity(b.code, quantity, actor(source=Source.FORM))
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
