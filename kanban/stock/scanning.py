"""Pull, receive, count and undo (docs/manual/spec.md §2.2, §3.1).

Every stock change is one atomic UPDATE on the bin row (which also locks it
until commit), writes one ledger row and re-evaluates the card. A scan id is a
unique key on the ledger: a replay returns the first result and moves nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..cards import flow, lines
from ..catalog.views import CardView, card_dict, card_view, resolve_card, scan_card, sync_loaded_bin
from ..core import direct, groupcommit
from ..core.actor import Actor
from ..core.errors import NotFound, ServiceError
from ..core.tx import begin_write
from ..domain import cards
from ..domain.quantities import DEFAULT_FACTOR
from ..domain.statuses import KIND_FOR_MODE, ChangeCause, Mode, MovementKind
from ..extensions import db
from ..models import Bin, Movement, RequestLine, SupplierRequest, utcnow
from .guards import MAX_QUANTITY as MAX_QUANTITY  # re-exported: the scan's limits
from .guards import SCAN_ID_MAX as SCAN_ID_MAX
from .guards import check_confirmed, check_quantity, check_scan_id


@dataclass
class MoveResult:
    """The outcome of one stock change, as the scan API reports it."""

    scan_id: str | None
    replayed: bool
    bin: dict[str, Any]
    flipped: bool
    request: dict[str, Any] | None
    movement_id: int
    mode: str
    quantity: int
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The JSON answer of ``POST /api/scans``."""
        return {
            "scan_id": self.scan_id,
            "replayed": self.replayed,
            "mode": self.mode,
            "quantity": self.quantity,
            "bin": self.bin,
            "flipped": self.flipped,
            "request": self.request,
            "movement_id": self.movement_id,
        }


#: What the scan API calls each ledger kind (an undo is an undo; opening stock a count).
MODE_FOR_KIND: dict[str, str] = {str(v): str(k) for k, v in KIND_FOR_MODE.items()} | {
    MovementKind.UNDO: MovementKind.UNDO,
    MovementKind.INITIAL: Mode.COUNT,
}


_STOCK_UPDATE = (
    sa.update(Bin)
    .where(Bin.id == sa.bindparam("bin_id"))
    .values(on_hand=Bin.on_hand + sa.bindparam("delta"), version=Bin.version + 1)
    .returning(Bin.on_hand, Bin.card_quantity, Bin.state, Bin.state_since, Bin.state_movement_id)
)
_ON_HAND_FOR_UPDATE = (
    sa.select(Bin.on_hand).where(Bin.id == sa.bindparam("bin_id")).with_for_update()
)
_SCAN_LOOKUP = sa.select(Movement.id).where(Movement.scan_id == sa.bindparam("scan_id"))


def _lock_bin_delta(v: CardView, delta: int) -> int:
    """Add ``delta`` to on hand in one statement (which locks the row until commit).

    Returns the new on hand and brings the view up to date with the row as
    it is now, under the lock.
    """
    on_hand, card, state, since, state_mid = direct.one(
        _STOCK_UPDATE, {"bin_id": v.id, "delta": delta}
    )
    if state_mid != v.state_movement_id:  # another change got in first: re-read (rare)
        fresh = card_view(v.id)
        v.why_kind, v.why_actor, v.why_station = fresh.why_kind, fresh.why_actor, fresh.why_station
    v.on_hand, v.card_quantity, v.state, v.state_since = on_hand, card, state, since
    v.state_movement_id = state_mid
    sync_loaded_bin(v)
    return int(on_hand)


def _previous(scan_id: str) -> Movement | None:
    """The movement an earlier scan with this id made, if any."""
    found = direct.one_or_none(_SCAN_LOOKUP, {"scan_id": scan_id})
    return db.session.get(Movement, found[0]) if found is not None else None


def _request_ref(request_id: int | None, status: str | None = None) -> dict[str, Any] | None:
    if request_id is None:
        return None
    if status is not None:
        return {"id": request_id, "status": status}
    status = db.session.execute(
        sa.select(SupplierRequest.status).where(SupplierRequest.id == request_id)
    ).scalar_one()
    return {"id": request_id, "status": status}


def _result_of(m: Movement, *, replayed: bool) -> MoveResult:
    """The answer for a movement already in the ledger (a replay, an undo)."""
    return MoveResult(
        scan_id=m.scan_id,
        replayed=replayed,
        bin=card_dict(card_view(m.bin_id)),
        flipped=m.flipped,
        request=_request_ref(m.request_id),
        movement_id=m.id,
        mode=MODE_FOR_KIND.get(m.kind, m.kind),
        quantity=abs(m.quantity) if m.kind != MovementKind.COUNT else m.on_hand_after,
    )


@dataclass
class Moved:
    """What :func:`_move` did, enough to answer without reading it back."""

    movement_id: int
    view: CardView
    kind: str
    quantity: int
    flipped: bool
    request_id: int | None
    scan_id: str | None
    request_status: str | None = None
    change: flow.Change | None = None  # the card flow's change (its card, built once)

    def result(self, *, replayed: bool = False) -> MoveResult:
        """The scan API's answer (call it after commit: it reads the request status)."""
        return MoveResult(
            scan_id=self.scan_id,
            replayed=replayed,
            bin=card_dict(self.view) if self.change is None else self.change.answer_card(),
            flipped=self.flipped,
            request=_request_ref(self.request_id, self.request_status),
            movement_id=self.movement_id,
            mode=MODE_FOR_KIND.get(self.kind, self.kind),
            quantity=abs(self.quantity) if self.kind != MovementKind.COUNT else self.view.on_hand,
        )


def _move(
    v: CardView,
    kind: MovementKind,
    delta: int | None,
    actor: Actor,
    *,
    scan_id: str | None,
    set_to: int | None = None,
    undo_of_id: int | None = None,
) -> Moved:
    """The one path for every stock change; the bin row is locked from here to commit.
    Three statements in the common case: stock UPDATE, ledger and event INSERTs."""
    if set_to is not None:
        # A count: lock the row, read, then write the difference.
        current = direct.scalar_one(_ON_HAND_FOR_UPDATE, {"bin_id": v.id})
        delta = set_to - current
    assert delta is not None
    on_hand = _lock_bin_delta(v, delta)
    booked_lines: list[RequestLine] = []
    completed = False
    if kind is MovementKind.RECEIPT and delta > 0:
        booked_lines, completed = lines.allocate_receipt(v.id, delta)
    booked = [line.id for line in booked_lines]
    if completed:
        event = cards.receipt_event(on_hand, v.card_quantity)
    else:
        event = cards.level_event(on_hand, v.card_quantity)
    station = (actor.station or None) and actor.station[:64]
    row: dict[str, Any] = {
        "bin_id": v.id,
        "kind": kind,
        "quantity": delta,
        "on_hand_after": on_hand,
        "user_id": actor.user_id,
        "device_token_id": actor.token_id,
        "actor": actor.name[:64],
        "station": station,
        "source": actor.source,
        "scan_id": scan_id,  # a duplicate scan id fails on the unique key
        "undo_of_id": undo_of_id,
        "line_id": booked[0] if booked else None,
        "note": lines.over_receipt_note(booked_lines),  # the confirmed over-receipt
        "created_at": utcnow(),
    }
    cause = flow.Cause(ChangeCause(kind.value), actor.name, actor.station, delta)
    change = flow.apply(v, event, cause, movement=row)
    assert change.movement_id is not None
    return Moved(
        change.movement_id,
        v,
        kind,
        delta,
        change.flipped,
        change.request_id,
        scan_id,
        change.request_status,
        change,
    )


def default_quantity(b: Bin | CardView, mode: Mode) -> int:
    """What a scan moves when no quantity is given (docs/manual/spec.md §8.1)."""
    if mode is Mode.PULL:
        return b.pull_quantity
    if mode is Mode.RECEIVE:
        remaining = lines.open_sent_remaining(b.id)
        if not remaining:
            raise ServiceError(
                "quantity_required",
                f"Bin {b.code} has no open order line: give the quantity received.",
            )
        return remaining
    raise ServiceError("quantity_required", "A count needs the quantity counted.")


def prepare_scan(
    code_text: str,
    mode: str,
    quantity: int | None,
    actor: Actor,
    scan_id: str,
    confirm: bool = False,
    factor: int = DEFAULT_FACTOR,
) -> Callable[[], Moved] | Movement:
    """Everything of a scan that only reads: the replay check, the code lookup, the
    default quantity, the checks. Returns the earlier movement when the scan id was seen
    before (a replay), else the write still to make (call it in a writing transaction;
    it does not commit). An unusual quantity or an over-receipt is refused unless
    ``confirm`` (:mod:`kanban.stock.guards`); a replay is answered before that, so it
    never asks again.
    """
    if mode not in set(Mode):
        raise ServiceError("invalid_mode", f"Mode must be one of: {', '.join(Mode)}.")
    mode = Mode(mode)
    check_quantity(quantity, mode)
    found = scan_card(code_text, scan_id)
    if found is None:  # not a bin code: a barcode, a SKU or unknown (the slow path)
        previous = _previous(scan_id)
        if previous is not None:
            return previous
        v = resolve_card(code_text)
    elif found[1] is not None:  # a replay
        previous = db.session.get(Movement, found[1])
        assert previous is not None
        return previous
    else:
        v = found[0]
    if not v.active:
        raise ServiceError(
            "inactive_bin", f"Bin {v.code} is retired: its label no longer scans.", 409
        )
    qty = quantity if quantity is not None else default_quantity(v, mode)
    over = check_confirmed(v, mode, qty, given=quantity is not None, factor=factor, confirm=confirm)

    def write() -> Moved:
        begin_write()
        if mode is Mode.PULL:
            return _move(v, MovementKind.PULL, -qty, actor, scan_id=scan_id)
        if mode is Mode.RECEIVE:
            moved = _move(v, MovementKind.RECEIPT, qty, actor, scan_id=scan_id)
            if over is not None:  # confirmed: supervisors are told
                lines.record_over_receipt(over, moved.movement_id, actor.name)
            return moved
        return _move(v, MovementKind.COUNT, None, actor, scan_id=scan_id, set_to=qty)

    return write


def record_scan(
    code_text: str,
    mode: str,
    quantity: int | None,
    actor: Actor,
    scan_id: str | None,
    confirm: bool = False,
    factor: int = DEFAULT_FACTOR,
) -> MoveResult:
    """Apply a scan and commit; a concurrent duplicate of the scan id is a replay.

    This is the one operation that owns its transaction: when two requests carry
    the same scan id, the loser's insert fails on the unique key, its write rolls back
    (no stock moved) and it answers with the winner's result. On SQLite the write goes
    through :mod:`kanban.core.groupcommit`: under load the scans of one process waiting
    for the write lock are written together, with one COMMIT.
    """
    sid = check_scan_id(scan_id)
    try:
        prepared = prepare_scan(code_text, mode, quantity, actor, sid, confirm, factor)
        if isinstance(prepared, Movement):
            db.session.rollback()  # (only read)
            return _result_of(prepared, replayed=True)
        done = groupcommit.run(prepared)
    except IntegrityError:
        db.session.rollback()
        previous = _previous(sid)
        if previous is None:
            raise
        return _result_of(previous, replayed=True)
    except Exception:
        db.session.rollback()
        raise
    return done.result()


def is_own(m: Movement, actor: Actor) -> bool:
    """The movement was made by this user or this device token."""
    return (actor.user_id is not None and m.user_id == actor.user_id) or (
        actor.token_id is not None and m.device_token_id == actor.token_id
    )


def undo_scan(scan_id: str, actor: Actor, *, own_only: bool, window: dt.timedelta) -> MoveResult:
    """Compensate a scan with an opposite movement (never edits the ledger).

    ``own_only`` limits operators to their own scans within ``window``.
    """
    sid = check_scan_id(scan_id)
    begin_write()
    original = _previous(sid)
    if original is None:
        raise NotFound("unknown_scan", "No scan has this id.")
    if original.kind not in KIND_FOR_MODE.values():
        raise ServiceError("not_undoable", "Only pulls, receipts and counts can be undone.", 409)
    existing = db.session.scalar(sa.select(Movement).where(Movement.undo_of_id == original.id))
    if existing is not None:
        return _result_of(existing, replayed=True)
    if own_only:
        if not is_own(original, actor):
            raise ServiceError("forbidden", "You can only undo your own scans.", 403)
        if utcnow() - original.created_at > window:
            raise ServiceError("too_late", "This scan is too old to undo; count the bin.", 409)
    if original.line_id is not None:
        raise ServiceError(
            "not_undoable",
            "A receipt booked on a supplier request cannot be undone; count the bin.",
            409,
        )
    done = _move(
        card_view(original.bin_id),
        MovementKind.UNDO,
        -original.quantity,
        actor,
        scan_id=None,
        undo_of_id=original.id,
    )
    return done.result()


def set_initial(b: Bin, on_hand: int, actor: Actor) -> Moved:
    """Opening stock of a new bin (or a corrected one), recorded in the ledger."""
    db.session.flush()
    v = card_view(b.id)
    return _move(v, MovementKind.INITIAL, on_hand - v.on_hand, actor, scan_id=None)


def get_movement(movement_id: int) -> Movement:
    """A ledger row by id, or NotFound."""
    m = db.session.get(Movement, movement_id)
    if m is None:
        raise NotFound("unknown_movement", "No movement has this id.")
    return m
