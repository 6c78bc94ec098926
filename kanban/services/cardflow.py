"""Carrying out card transitions: the only code that sets a bin's state."""

from __future__ import annotations

import sqlalchemy as sa

from ..domain import cards
from ..extensions import db
from ..models import Bin, RequestLine, utcnow
from . import requests


def apply_card_event(
    b: Bin, event: cards.CardEvent, *, movement_id: int | None, reason: str = ""
) -> tuple[cards.Transition, RequestLine | None]:
    """Apply ``event`` to the bin's card through the transition table.

    Carries out the table's action (open or withdraw the request line) and
    records when and by which movement the state changed. Returns the
    transition and the line opened, if any. The bin row must already be locked
    by the caller's stock update.
    """
    old = cards.CardState(b.state)
    step = cards.transition(old, event)
    line = None
    if step.action is cards.CardAction.ADD_LINE:
        line = requests.add_line(b, reason)
    elif step.action is cards.CardAction.WITHDRAW_LINE:
        requests.withdraw_line(b.id)
    if step.state is not old:
        db.session.execute(
            sa.update(Bin)
            .where(Bin.id == b.id)
            .values(state=step.state.value, state_since=utcnow(),
                    state_movement_id=movement_id if movement_id else Bin.state_movement_id)
        )
        db.session.refresh(b)
    return step, line


def reevaluate(b: Bin, reason: str) -> None:
    """Re-check a bin's card after its card quantity changed (no stock moved)."""
    apply_card_event(
        b, cards.level_event(b.on_hand, b.card_quantity), movement_id=None, reason=reason
    )
