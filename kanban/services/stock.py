"""Pull, receive, count and undo (DESIGN §2.2, §3.1).

Every stock change is one atomic UPDATE on the bin row (which also locks it
until commit), writes one ledger row and re-evaluates the card. A scan id is a
unique key on the ledger: a replay returns the first result and moves nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..domain import cards
from ..domain.codes import MODES
from ..extensions import db
from ..models import Bin, Movement, utcnow
from . import NotFound, ServiceError, events, requests
from .bins import bin_dict, reason_line, resolve_scan
from .cardflow import apply_card_event
from .tx import begin_write

MAX_QUANTITY = 1_000_000
SCAN_ID_MAX = 64


@dataclass(frozen=True)
class Actor:
    """Who made a change, from where."""

    name: str = ""
    user_id: int | None = None
    token_id: int | None = None
    station: str | None = None
    source: str = "api"


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


KIND_FOR_MODE = {"pull": "pull", "receive": "receipt", "count": "count"}
MODE_FOR_KIND = {v: k for k, v in KIND_FOR_MODE.items()} | {"undo": "undo", "initial": "count"}


def _check_quantity(quantity: int | None, *, allow_zero: bool = False) -> None:
    if quantity is None:
        return
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise ServiceError("invalid_quantity", "Quantity must be a whole number.")
    low = 0 if allow_zero else 1
    if quantity < low or quantity > MAX_QUANTITY:
        raise ServiceError(
            "invalid_quantity",
            f"Quantity must be between {low} and {MAX_QUANTITY}.",
        )


def check_scan_id(scan_id: str | None) -> str:
    """A client scan id, or a fresh one; bounded and printable."""
    if scan_id is None:
        return uuid.uuid4().hex
    if not isinstance(scan_id, str) or not 1 <= len(scan_id) <= SCAN_ID_MAX or not all(
        c.isalnum() or c in "-_.:" for c in scan_id
    ):
        raise ServiceError(
            "invalid_scan_id",
            f"scan_id must be 1–{SCAN_ID_MAX} letters, digits or - _ . :",
        )
    return scan_id


def _lock_bin_delta(bin_id: int, delta: int) -> int:
    """Add ``delta`` to on hand in one statement; returns the new on hand."""
    new = db.session.execute(
        sa.update(Bin)
        .where(Bin.id == bin_id)
        .values(on_hand=Bin.on_hand + delta, version=Bin.version + 1)
        .returning(Bin.on_hand)
    ).scalar_one()
    return int(new)


def _previous(scan_id: str) -> Movement | None:
    return db.session.scalar(sa.select(Movement).where(Movement.scan_id == scan_id))


def _result_of(m: Movement, *, replayed: bool) -> MoveResult:
    b = m.bin
    req = None
    if m.request_id is not None:
        r = requests.get_request(m.request_id)
        req = {"id": r.id, "status": r.status}
    return MoveResult(
        scan_id=m.scan_id,
        replayed=replayed,
        bin=bin_dict(b),
        flipped=m.flipped,
        request=req,
        movement_id=m.id,
        mode=MODE_FOR_KIND.get(m.kind, m.kind),
        quantity=abs(m.quantity) if m.kind != "count" else m.on_hand_after,
    )


def _move(
    b: Bin,
    kind: str,
    delta: int | None,
    actor: Actor,
    *,
    scan_id: str | None,
    set_to: int | None = None,
    undo_of: Movement | None = None,
) -> Movement:
    """The one path for every stock change (the bin row gets locked here)."""
    if set_to is not None:
        # A count: lock the row, read, then write the difference.
        current = db.session.execute(
            sa.select(Bin.on_hand).where(Bin.id == b.id).with_for_update()
        ).scalar_one()
        delta = set_to - current
    assert delta is not None
    on_hand = _lock_bin_delta(b.id, delta)
    db.session.refresh(b)

    completed = False
    booked: list[int] = []
    if kind == "receipt" and delta > 0:
        lines, completed = requests.allocate_receipt(b.id, delta)
        booked = [line.id for line in lines]
    if completed:
        event = cards.receipt_event(on_hand, b.card_quantity)
    else:
        event = cards.level_event(on_hand, b.card_quantity)

    old_state = b.state
    movement = Movement(
        bin_id=b.id,
        kind=kind,
        quantity=delta,
        on_hand_after=on_hand,
        state_after=old_state,
        user_id=actor.user_id,
        device_token_id=actor.token_id,
        actor=actor.name[:64],
        station=(actor.station or None) and actor.station[:64],
        source=actor.source,
        scan_id=scan_id,
        undo_of_id=undo_of.id if undo_of else None,
        line_id=booked[0] if booked else None,
        created_at=utcnow(),
    )
    db.session.add(movement)
    db.session.flush()  # a duplicate scan id fails here, before anything else is written

    who = f"{kind} by {actor.name}" if actor.name else kind
    if actor.station:
        who += f" at {actor.station}"
    reason = f"{on_hand} on hand < card {b.card_quantity} · {who}"
    _, line = apply_card_event(b, event, movement_id=movement.id, reason=reason)
    movement.state_after = b.state
    movement.flipped = b.state != old_state
    if line is not None:
        movement.request_id = line.request_id
    else:
        open_line = requests.open_line(b.id)
        movement.request_id = open_line.request_id if open_line else None
    db.session.flush()
    events.append("bin.changed", bin_code=b.code,
                  data=bin_dict(b) | {"movement": {"kind": kind, "quantity": delta,
                                                   "actor": actor.name,
                                                   "station": actor.station}})
    return movement


def default_quantity(b: Bin, mode: str) -> int:
    """What a scan moves when no quantity is given (DESIGN §8.1)."""
    if mode == "pull":
        return b.pull_quantity
    if mode == "receive":
        remaining = requests.open_sent_remaining(b.id)
        if not remaining:
            raise ServiceError(
                "quantity_required",
                f"Bin {b.code} has no open order line: give the quantity received.",
            )
        return remaining
    raise ServiceError("quantity_required", "A count needs the quantity counted.")


def apply_scan(code_text: str, mode: str, quantity: int | None, actor: Actor,
               scan_id: str) -> MoveResult:
    """Apply one scan in the current transaction (flushes, does not commit)."""
    if mode not in MODES:
        raise ServiceError("invalid_mode", f"Mode must be one of: {', '.join(MODES)}.")
    _check_quantity(quantity, allow_zero=(mode == "count"))
    begin_write()
    previous = _previous(scan_id)
    if previous is not None:
        return _result_of(previous, replayed=True)
    b = resolve_scan(code_text)
    if not b.active:
        raise ServiceError("inactive_bin", f"Bin {b.code} is not active.", 409)
    qty = quantity if quantity is not None else default_quantity(b, mode)
    if mode == "pull":
        m = _move(b, "pull", -qty, actor, scan_id=scan_id)
    elif mode == "receive":
        m = _move(b, "receipt", qty, actor, scan_id=scan_id)
    else:
        m = _move(b, "count", None, actor, scan_id=scan_id, set_to=qty)
    return _result_of(m, replayed=False)


def record_scan(code_text: str, mode: str, quantity: int | None, actor: Actor,
                scan_id: str | None) -> MoveResult:
    """Apply a scan and commit; a concurrent duplicate of the scan id is a replay.

    This is the one service that owns its transaction: when two requests carry
    the same scan id, the loser's insert fails on the unique key, its whole
    transaction rolls back (no stock moved) and it answers with the winner's
    result.
    """
    sid = check_scan_id(scan_id)
    try:
        result = apply_scan(code_text, mode, quantity, actor, sid)
        db.session.commit()
        return result
    except IntegrityError:
        db.session.rollback()
        previous = _previous(sid)
        if previous is None:
            raise
        return _result_of(previous, replayed=True)
    except Exception:
        db.session.rollback()
        raise


def undo_scan(scan_id: str, actor: Actor, *, own_only: bool, window: dt.timedelta) -> MoveResult:
    """Compensate a scan with an opposite movement (never edits the ledger).

    ``own_only`` limits operators to their own scans within ``window``.
    """
    sid = check_scan_id(scan_id)
    begin_write()
    original = _previous(sid)
    if original is None:
        raise NotFound("unknown_scan", "No scan has this id.")
    if original.kind not in ("pull", "receipt", "count"):
        raise ServiceError("not_undoable", "Only pulls, receipts and counts can be undone.", 409)
    existing = db.session.scalar(sa.select(Movement).where(Movement.undo_of_id == original.id))
    if existing is not None:
        return _result_of(existing, replayed=True)
    if own_only:
        mine = (actor.user_id is not None and original.user_id == actor.user_id) or (
            actor.token_id is not None and original.device_token_id == actor.token_id
        )
        if not mine:
            raise ServiceError("forbidden", "You can only undo your own scans.", 403)
        if utcnow() - original.created_at > window:
            raise ServiceError("too_late", "This scan is too old to undo; count the bin.", 409)
    if original.line_id is not None:
        raise ServiceError(
            "not_undoable",
            "A receipt booked on a supplier request cannot be undone; count the bin.",
            409,
        )
    m = _move(original.bin, "undo", -original.quantity, actor, scan_id=None, undo_of=original)
    return _result_of(m, replayed=False)


def set_initial(b: Bin, on_hand: int, actor: Actor) -> Movement:
    """Opening stock of a new bin, recorded in the ledger."""
    return _move(b, "initial", on_hand - b.on_hand, actor, scan_id=None)


def get_movement(movement_id: int) -> Movement:
    """A ledger row by id, or NotFound."""
    m = db.session.get(Movement, movement_id)
    if m is None:
        raise NotFound("unknown_movement", "No movement has this id.")
    return m
