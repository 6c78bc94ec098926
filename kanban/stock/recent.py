"""A station's recent scans, with whether the person looking may undo each."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..core.actor import Actor
from ..domain.statuses import KIND_FOR_MODE, Mode
from ..extensions import db
from ..models import Bin, Movement, utcnow
from .scanning import MODE_FOR_KIND, is_own

#: How many scans the scan page lists.
LIMIT = 12


def recent_scans(
    station: str | None, who: Actor, *, limit: int = LIMIT, undo_window: dt.timedelta
) -> list[dict[str, Any]]:
    """The newest scans at ``station`` and ``who``'s own wherever they were made, newest
    first (without a station, ``who``'s own only). Your own scans stay in the list when the
    station is renamed, with their Undo.

    ``mine`` and ``undoable`` say whether the page offers Undo; the undo service still
    decides (receipts booked on a request, for instance, cannot be undone).
    """
    stmt = (
        sa.select(Movement)
        .options(joinedload(Movement.bin).joinedload(Bin.item))
        .where(Movement.kind.in_(tuple(KIND_FOR_MODE.values())), Movement.scan_id.is_not(None))
        .order_by(Movement.id.desc())
        .limit(limit)
    )
    if who.user_id is not None:
        mine_clause = Movement.user_id == who.user_id
    else:
        mine_clause = Movement.device_token_id == who.token_id
    stmt = stmt.where(sa.or_(Movement.station == station, mine_clause) if station else mine_clause)
    rows = list(db.session.scalars(stmt).unique())
    undone: set[int] = set()
    if rows:
        undone = {
            i
            for i in db.session.scalars(
                sa.select(Movement.undo_of_id).where(Movement.undo_of_id.in_([m.id for m in rows]))
            )
            if i is not None
        }
    now = utcnow()
    out = []
    for m in rows:
        mine = is_own(m, who)
        mode = MODE_FOR_KIND[m.kind]
        out.append(
            {
                "scan_id": m.scan_id,
                "at": m.created_at.isoformat(),
                "mode": mode,
                "quantity": m.on_hand_after if mode == Mode.COUNT else abs(m.quantity),
                "bin": m.bin.code,
                "item": m.bin.item.name,
                "on_hand_after": m.on_hand_after,
                "state_after": m.state_after,
                "flipped": m.flipped,
                "actor": m.actor,
                "station": m.station,
                "source": m.source,
                "mine": mine,
                "undone": m.id in undone,
                "undoable": mine and m.id not in undone and now - m.created_at <= undo_window,
            }
        )
    return out
