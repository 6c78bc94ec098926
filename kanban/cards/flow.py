"""The one card flow: the only code that changes a card (docs/manual/spec.md §2.2).

Every path that can change a card calls :func:`apply`: a pull, receipt, count
or undo (with the ledger row to write), a new card quantity, an import, a bin
retired or brought back, a request sent, a line removed from a draft. It

1. looks up the transition for the event in the table of
   :mod:`kanban.domain.cards`,
2. opens, withdraws or cancels the bin's request line as the table says,
3. writes the ledger row when the change is a movement,
4. records the new state, when and by which movement,
5. announces the change on :data:`kanban.core.signals.card_changed`.

What follows a change hangs on that announcement, connected by
``create_app``: the change feed writes one ``bin.changed`` event
(:mod:`kanban.core.feed`) and automatic sending picks up a line opened for an
auto-send supplier (:mod:`kanban.purchasing.autosend`). No caller has to
remember either. The bin row must already be locked by the caller (the stock
UPDATE, or a ``SELECT … FOR UPDATE``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..catalog.views import CardView, card_dict, overdue_bin_ids, sync_loaded_bin
from ..core import direct, signals
from ..domain import cards
from ..domain.cards import CardAction, CardEvent, CardState
from ..domain.statuses import ChangeCause
from ..extensions import db
from ..models import Bin, Movement, utcnow
from . import lines


@dataclass(frozen=True)
class Cause:
    """Why the card changed, and who did it: what the feed and the line's reason tell."""

    kind: ChangeCause
    actor: str = ""
    station: str | None = None
    quantity: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The ``change`` part of a ``bin.changed`` event."""
        return {
            "cause": self.kind.value,
            "actor": self.actor,
            "station": self.station,
            "quantity": self.quantity,
            **self.detail,
        }


@dataclass(frozen=True)
class Change:
    """What one call of :func:`apply` did: the announcement listeners receive."""

    card: CardView  # as it is now
    before: CardState
    after: CardState
    cause: Cause
    opened_line_id: int | None  # the line this change opened, if any
    request_id: int | None  # the request of the bin's open line, if any
    request_status: str | None
    movement_id: int | None
    overdue: bool

    @property
    def flipped(self) -> bool:
        """The card's state changed."""
        return self.before is not self.after

    @functools.cached_property
    def card_data(self) -> dict[str, Any]:
        """The card as the feed shows it (:func:`card_dict`), built once for all who ask
        (the feed, webhooks, the scan's answer): read it, never change it."""
        return card_dict(self.card, overdue=self.overdue)

    @functools.cached_property
    def _event_data(self) -> dict[str, Any]:
        return self.card_data | {
            "change": self.cause.as_dict(),
            "previous_state": self.before.value,
            "flipped": self.flipped,
        }

    def event_data(self) -> dict[str, Any]:
        """The data of the ``bin.changed`` event: the card and why it changed (built once;
        read it, never change it)."""
        return self._event_data

    def answer_card(self) -> dict[str, Any]:
        """The card as the scan API answers with it: the feed's card, except that the
        answer never flags it overdue (it never has: the board does)."""
        card = self.card_data
        if card["flags"]["overdue"]:
            return card | {"flags": card["flags"] | {"overdue": False}}
        return card


_MOVEMENT_INSERT = sa.insert(Movement.__table__).returning(Movement.__table__.c.id)
_SET_STATE = (
    sa.update(Bin)
    .where(Bin.id == sa.bindparam("bin_id"))
    .values(
        state=sa.bindparam("state"),
        state_since=sa.bindparam("since"),
        state_movement_id=sa.func.coalesce(sa.bindparam("movement_id"), Bin.state_movement_id),
    )
)


def _line_reason(card: CardView, cause: Cause) -> str:
    who = f"{cause.kind.value} by {cause.actor}" if cause.actor else cause.kind.value
    if cause.station:
        who += f" at {cause.station}"
    return f"{card.on_hand} on hand < card {card.card_quantity} · {who}"


def _carry_out(card: CardView, action: CardAction, cause: Cause) -> int | None:
    """Do to the request lines what the table says; returns the id of a line opened."""
    if action is CardAction.ADD_LINE:
        return lines.add_line(card.id, cause.detail.get("reason") or _line_reason(card, cause)).id
    if action is CardAction.WITHDRAW_LINE:
        lines.withdraw_line(card.id)
    elif action is CardAction.CANCEL_LINE:
        by = f" by {cause.actor}" if cause.actor else ""
        lines.cancel_line(card.id, f" · {cause.kind.value}{by}")
    return None


def _record_state(
    card: CardView, state: CardState, movement_id: int | None, movement: dict[str, Any] | None
) -> None:
    """The card's new state, since now, and the movement that caused it (if any)."""
    now = utcnow()
    params = {"bin_id": card.id, "state": state.value, "since": now, "movement_id": movement_id}
    direct.rows(_SET_STATE, params)
    card.state, card.state_since = state.value, now
    if movement_id is not None:
        card.state_movement_id = movement_id
        if movement is not None:
            card.why_kind, card.why_actor = movement["kind"], movement["actor"]
            card.why_station = movement["station"]
    sync_loaded_bin(card)


def apply(
    card: CardView,
    event: CardEvent | None,
    cause: Cause,
    *,
    movement: dict[str, Any] | None = None,
    movement_id: int | None = None,
) -> Change:
    """Change one card and announce it; the only function that does (module docstring).

    ``card``: the bin as it is now, under its row lock (stock already moved).
    ``event``: what happened as far as the card is concerned, or None when
    nothing did but what the card shows (a retired bin, a new name): then only
    the announcement is made. ``movement``: the ledger row to write (without its
    state fields, which are filled in here), or ``movement_id`` of a row already
    written. Raises :class:`~kanban.domain.cards.IllegalTransition` for an event
    the card's state does not allow.
    """
    before = CardState(card.state)
    if event is None:
        after, action = before, CardAction.NONE
    else:
        step = cards.transition(before, event)
        after, action = step.state, step.action
    if db.session.new or db.session.dirty or db.session.deleted:
        db.session.flush()  # ORM changes of the caller (a new card quantity) come first
    opened = _carry_out(card, action, cause) if action is not CardAction.NONE else None
    found = lines.open_line_request(card.id) if after is not CardState.STOCKED else None
    request_id, request_status = found if found is not None else (None, None)
    if movement is not None:
        movement = movement | {
            "state_after": after.value,
            "flipped": after is not before,
            "request_id": request_id,
        }
        movement_id = int(direct.scalar_one(_MOVEMENT_INSERT, movement))
    if after is not before:
        _record_state(card, after, movement_id, movement)
    change = Change(
        card=card,
        before=before,
        after=after,
        cause=cause,
        opened_line_id=opened,
        request_id=request_id,
        request_status=request_status,
        movement_id=movement_id,
        overdue=after is CardState.ORDERED and card.id in overdue_bin_ids([card.id]),
    )
    signals.card_changed.send(db.engine, change=change)
    return change
