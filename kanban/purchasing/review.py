"""Reviewing drafts and receiving on the request page (docs/manual/spec.md §2.3).

Supervisors change a draft line's quantity or remove the line (the card goes
on hold through the card flow); a line received on the page is the same stock
movement as a receive scan.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..cards import flow
from ..catalog.views import card_view
from ..core.actor import Actor
from ..core.errors import NotFound, ServiceError
from ..core.tx import begin_write
from ..domain import cards
from ..domain.statuses import ChangeCause, LineStatus, Mode, RequestStatus
from ..extensions import db
from ..models import Bin, Movement, RequestLine, SupplierRequest
from ..stock import scanning
from ..stock.scanning import MoveResult
from .requests import MAX_LINE_QUANTITY, announce, get_request, is_sending, request_number


def _lock_draft_line(request_id: int, line_id: int) -> tuple[SupplierRequest, RequestLine]:
    """A draft's open line, locked (bin → request → line) and ready to change."""
    begin_write()
    line = db.session.get(RequestLine, line_id)
    if line is None or line.request_id != request_id:
        raise NotFound("unknown_line", "This request has no such line.")
    db.session.execute(
        sa.select(Bin)
        .where(Bin.id == line.bin_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    req = get_request(request_id, lock=True)
    db.session.refresh(line, with_for_update=True)
    if req.status != RequestStatus.DRAFT:
        raise ServiceError(
            "not_draft",
            f"Request {request_number(req.id)} is {req.status}: only drafts can be changed.",
            409,
        )
    if is_sending(req):
        raise ServiceError(
            "sending_in_progress",
            f"Request {request_number(req.id)} is being emailed right now; try again in a moment.",
            409,
        )
    if line.status != LineStatus.OPEN:
        raise ServiceError("line_closed", f"This line is {line.status}.", 409)
    return req, line


def update_line_quantity(
    request_id: int, line_id: int, quantity: int, *, actor: str = ""
) -> RequestLine:
    """Change a draft line's quantity (whole packs of the item's pack multiple)."""
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise ServiceError("invalid_quantity", "Quantity must be a whole number.")
    if not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise ServiceError(
            "invalid_quantity",
            f"Quantity must be between 1 and {MAX_LINE_QUANTITY}; to "
            "order nothing, remove the line.",
        )
    req, line = _lock_draft_line(request_id, line_id)
    pack = max(1, line.item.pack_multiple)
    if quantity % pack:
        raise ServiceError(
            "not_pack_multiple",
            f"{line.item.sku} is ordered in packs of {pack}: use "
            f"{cards.line_quantity(quantity, pack)} or {max(pack, quantity // pack * pack)}.",
        )
    old = line.quantity
    line.quantity = quantity
    db.session.flush()
    announce(
        req,
        actor=actor,
        change="quantity",
        line=line.id,
        bin=line.bin.code,
        **{"from": old, "to": quantity},
    )
    return line


def remove_line(
    request_id: int, line_id: int, *, actor: str = "", more: dict[str, Any] | None = None
) -> RequestLine:
    """Take a line off a draft: the supervisor decides not to order it now.

    The line is cancelled and the bin's card goes back to ``stocked`` *on hold*
    (card event ``removed``), although it is below its card quantity: the next
    movement that leaves it below (a pull, a count) starts a new cycle with a
    new line. ``kanban check`` accepts a stocked card below its card quantity
    only while the bin's newest line is such a cancelled one. A draft left
    without lines is cancelled. ``more``: what the bin's change event adds
    (a retirement says so).
    """
    req, line = _lock_draft_line(request_id, line_id)
    code = line.bin.code
    flow.apply(
        card_view(line.bin_id),
        cards.CardEvent.REMOVED,
        flow.Cause(ChangeCause.REMOVED, actor, detail=more or {}),
    )
    db.session.refresh(line)
    announce(req, actor=actor, change="removed", line=line.id, bin=code)
    return line


def receive_line(
    request_id: int,
    line_id: int,
    quantity: int | None,
    actor: Actor,
    *,
    scan_id: str | None,
    confirm: bool = False,
) -> MoveResult:
    """Receive on a line from the request page: the same stock path as a receive scan.

    Owns its transaction like :func:`kanban.stock.scanning.record_scan` (it
    calls it): the receipt is a ledger movement with a scan id, so a form sent
    twice books once.
    """
    sid = scanning.check_scan_id(scan_id)
    begin_write()
    seen = db.session.scalar(sa.select(Movement.id).where(Movement.scan_id == sid))
    if seen is None:  # a replay answers with the first result, whatever the line is now
        line = db.session.get(RequestLine, line_id)
        if line is None or line.request_id != request_id:
            raise NotFound("unknown_line", "This request has no such line.")
        if line.request.status != RequestStatus.SENT or line.status != LineStatus.OPEN:
            raise ServiceError(
                "line_not_open",
                f"Bin {line.bin.code}'s line is {line.status} on a {line.request.status} "
                "request: nothing is expected on it.",
                409,
            )
        code = line.bin.code
    else:
        code = db.session.get(Movement, seen).bin.code  # type: ignore[union-attr]
    return scanning.record_scan(code, Mode.RECEIVE, quantity, actor, sid, confirm=confirm)
