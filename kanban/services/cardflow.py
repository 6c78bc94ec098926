"""Carrying out card transitions: the only code that sets a bin's state."""

from __future__ import annotations

import sqlalchemy as sa

from ..domain import cards
from ..extensions import db
from ..models import Bin, RequestLine, utcnow
from . import requests


def carry_out(
    b: Bin, event: cards.CardEvent, *, reason: str = ""
) -> tuple[cards.Transition, RequestLine | None]:
    """Look up the transition and carry out its action on the request lines.

    The bin's state itself is set afterwards by :func:`set_state`, once the
    movement that caused it has its id.
    """
    step = cards.transition(cards.CardState(b.state), event)
    line = None
    if step.action is cards.CardAction.ADD_LINE:
        line = requests.add_line(b, reason)
    elif step.action is cards.CardAction.WITHDRAW_LINE:
        requests.withdraw_line(b.id)
    return step, line


def set_state(b: Bin, state: cards.CardState, movement_id: int | None) -> None:
    """Record a new card state, when and by which movement (no-op if unchanged)."""
    if state.value == b.state:
        return
    db.session.execute(
        sa.update(Bin)
        .where(Bin.id == b.id)
        .values(
            state=state.value,
            state_since=utcnow(),
            state_movement_id=movement_id if movement_id else Bin.state_movement_id,
        )
    )
    db.session.refresh(b)


def apply_card_event(
    b: Bin, event: cards.CardEvent, *, movement_id: int | None, reason: str = ""
) -> tuple[cards.Transition, RequestLine | None]:
    """Apply ``event`` to the bin's card through the transition table.

    Carries out the table's action (open or withdraw the request line) and
    records when and by which movement the state changed. Returns the
    transition and the line opened, if any. The bin row must already be locked
    by the caller's stock update.
    """
    step, line = carry_out(b, event, reason=reason)
    set_state(b, step.state, movement_id)
    return step, line


def reevaluate(b: Bin, reason: str) -> None:
    """Re-check a bin's card after its card quantity changed (no stock moved)."""
    apply_card_event(
        b, cards.level_event(b.on_hand, b.card_quantity), movement_id=None, reason=reason
    )
