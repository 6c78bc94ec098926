"""The bin forms of blueprint ``masterdata``: "New bin" (one short form, reachable from the
board and, prefilled, from the scan page for an unknown code) and a bin's edit form. A bin
is retired and brought back on its own page (:mod:`.board`)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from ..catalog.views import get_bin
from ..core import audit
from ..core.errors import Conflict, FieldErrors, ServiceError
from ..domain.statuses import AuditObject, Role, Source
from ..extensions import db
from ..masterdata import bin_records, items, zones
from ..models import Bin
from .forms import form_fields, form_values, form_version
from .masterdata import bp
from .security import actor, requires


def _options(b: Bin | None) -> dict[str, list[tuple[int, str]]]:
    """The items and zones a bin can be given: the active ones (and its own)."""
    found_items = [(i.id, f"{i.sku} · {i.name}") for i in items.list_items() if i.active]
    found_zones = [(z.id, z.name) for z in zones.list_zones() if z.active]
    if b is not None and not b.item.active:
        found_items.append((b.item_id, f"{b.item.sku} · {b.item.name} (deactivated)"))
    if b is not None and not b.zone.active:
        found_zones.append((b.zone_id, f"{b.zone.name} (deactivated)"))
    return {"item_id": found_items, "zone_id": found_zones}


def _form(
    b: Bin | None,
    values: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status: int = 200,
) -> Any:
    fields = bin_records.NEW_FIELDS if b is None else bin_records.EDIT_FIELDS
    fields = {k: f for k, f in fields.items() if k != "active"}
    page = render_template(
        "masterdata/bin_form.html",
        what="bin",
        record=b,
        title="New bin" if b is None else f"Edit bin {b.code}",
        action=url_for("masterdata.create_bin")
        if b is None
        else url_for("masterdata.save_bin", code=b.code),
        fields=form_fields(fields, values, errors, _options(b)),
        message=message,
        history=[] if b is None else audit.history(AuditObject.BIN, b.id),
        active_url=None if b is None else url_for("board.set_bin_active", code=b.code),
    )
    return page, status


@bp.get("/bins/new")
@requires(Role.SUPERVISOR)
def new_bin() -> Any:
    """One short form for a new bin (``?code=`` fills in the code, as the scan page does
    for a code it does not know)."""
    code = request.args.get("code", "")[:64]
    return _form(None, bin_records.DEFAULTS | {"code": code})


@bp.post("/bins/new")
@requires(Role.SUPERVISOR)
def create_bin() -> Any:
    """Create a bin; its page opens and offers its label."""
    values = form_values(bin_records.NEW_FIELDS)
    try:
        b = bin_records.new_bin(values, actor(source=Source.FORM))
        code, state = b.code, b.state
        db.session.commit()
    except FieldErrors as exc:
        db.session.rollback()
        return _form(None, values, errors=exc.errors, status=400)
    flash(f"Bin {code} created; its card is {state}.", "ok")
    return redirect(url_for("board.bin_page", code=code, label="new"), 303)


@bp.get("/bins/<path:code>/edit")
@requires(Role.SUPERVISOR)
def edit_bin(code: str) -> Any:
    """A bin's edit form: code, item, zone, card, order and pull quantity."""
    b = get_bin(code[:64])
    return _form(b, bin_records.bin_values(b))


@bp.post("/bins/<path:code>/edit")
@requires(Role.SUPERVISOR)
def save_bin(code: str) -> Any:
    """Save a bin's edit form; a new code keeps its history and offers the new label."""
    b = get_bin(code[:64])
    old = b.code
    values = form_values(bin_records.EDIT_FIELDS)
    try:
        b = bin_records.update_bin(
            old, values, version=form_version(), actor=actor(source=Source.FORM)
        )
        new, state = b.code, b.state
        db.session.commit()
    except FieldErrors as exc:
        db.session.rollback()
        b = get_bin(old)
        return _form(b, bin_records.bin_values(b) | values, errors=exc.errors, status=400)
    except ServiceError as exc:
        db.session.rollback()
        b = get_bin(old)
        status = 409 if isinstance(exc, Conflict) else exc.status
        return _form(b, bin_records.bin_values(b), message=exc.message, status=status)
    flash(f"Bin {new} saved; its card is {state}.", "ok")
    args: dict[str, Any] = {"label": "renamed", "from": old} if new != old else {}
    return redirect(url_for("board.bin_page", code=new, **args), 303)
