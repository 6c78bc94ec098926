"""The card state machine (docs/manual/spec.md §2.2): one explicit transition table.

Packages compute which :class:`CardEvent` a change amounts to;
:func:`kanban.cards.flow.apply` asks :func:`transition` for the next state and
the action to take, and carries it out. No other code decides a card's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CardState(StrEnum):
    """Where a bin is in its replenishment cycle."""

    STOCKED = "stocked"
    REPLENISH = "replenish"
    ORDERED = "ordered"


#: The states in board order (the columns of the board).
CARD_STATES: tuple[CardState, ...] = tuple(CardState)


class CardEvent(StrEnum):
    """What happened to a bin, as far as its card is concerned."""

    LOW = "low"  # a movement left on hand < card quantity
    OK = "ok"  # a movement left on hand >= card quantity
    SENT = "sent"  # the request holding the bin's open line was sent
    RECEIVED_OK = "received_ok"  # open lines fully received, on hand >= card quantity
    RECEIVED_LOW = "received_low"  # open lines fully received, still below card quantity
    CANCELLED_OK = "cancelled_ok"  # the open line was cancelled, on hand >= card quantity
    CANCELLED_LOW = "cancelled_low"  # the open line was cancelled, still below card quantity
    REMOVED = "removed"  # a supervisor took the unsent line off the draft: hold, don't order


class CardAction(StrEnum):
    """What the service must do to the supplier request lines."""

    NONE = "none"
    ADD_LINE = "add_line"  # open a line on the supplier's draft request
    WITHDRAW_LINE = "withdraw_line"  # withdraw the (unsent) draft line
    CANCEL_LINE = "cancel_line"  # take the (unsent) line off the draft: hold, don't order


@dataclass(frozen=True)
class Transition:
    """The outcome of an event: the next state and the action to take."""

    state: CardState
    action: CardAction


class IllegalTransition(ValueError):
    """The event cannot happen in this state (a bug or a stale request)."""

    def __init__(self, state: CardState, event: CardEvent) -> None:
        super().__init__(f"event {event.value!r} is not allowed for a card in {state.value!r}")
        self.state = state
        self.event = event


S, E, A = CardState, CardEvent, CardAction

#: The whole machine. A (state, event) pair missing here is illegal.
TABLE: dict[tuple[CardState, CardEvent], Transition] = {
    (S.STOCKED, E.LOW): Transition(S.REPLENISH, A.ADD_LINE),
    (S.STOCKED, E.OK): Transition(S.STOCKED, A.NONE),
    # Further pulls while replenishing never add a second line.
    (S.REPLENISH, E.LOW): Transition(S.REPLENISH, A.NONE),
    # A count, undo or receipt lifted stock before the request was sent.
    (S.REPLENISH, E.OK): Transition(S.STOCKED, A.WITHDRAW_LINE),
    (S.REPLENISH, E.SENT): Transition(S.ORDERED, A.NONE),
    (S.REPLENISH, E.CANCELLED_OK): Transition(S.STOCKED, A.NONE),
    (S.REPLENISH, E.CANCELLED_LOW): Transition(S.REPLENISH, A.ADD_LINE),
    # Not ordering now: the card waits on hold as stocked, and the next movement
    # that leaves it below its card quantity (stocked + low) opens a new line.
    (S.REPLENISH, E.REMOVED): Transition(S.STOCKED, A.CANCEL_LINE),
    # After sending, the card stays ordered until received or cancelled.
    (S.ORDERED, E.LOW): Transition(S.ORDERED, A.NONE),
    (S.ORDERED, E.OK): Transition(S.ORDERED, A.NONE),
    (S.ORDERED, E.RECEIVED_OK): Transition(S.STOCKED, A.NONE),
    (S.ORDERED, E.RECEIVED_LOW): Transition(S.REPLENISH, A.ADD_LINE),
    (S.ORDERED, E.CANCELLED_OK): Transition(S.STOCKED, A.NONE),
    (S.ORDERED, E.CANCELLED_LOW): Transition(S.REPLENISH, A.ADD_LINE),
}


def transition(state: CardState | str, event: CardEvent | str) -> Transition:
    """Return the transition for ``event`` in ``state`` or raise IllegalTransition."""
    state, event = CardState(state), CardEvent(event)
    try:
        return TABLE[(state, event)]
    except KeyError:
        raise IllegalTransition(state, event) from None


def level_event(on_hand: int, card_quantity: int) -> CardEvent:
    """The event a plain stock movement amounts to: below the card or not."""
    return CardEvent.LOW if on_hand < card_quantity else CardEvent.OK


def receipt_event(on_hand: int, card_quantity: int) -> CardEvent:
    """The event once a bin's open lines are fully received."""
    return CardEvent.RECEIVED_LOW if on_hand < card_quantity else CardEvent.RECEIVED_OK


def cancel_event(on_hand: int, card_quantity: int) -> CardEvent:
    """The event when a bin's open line is cancelled."""
    return CardEvent.CANCELLED_LOW if on_hand < card_quantity else CardEvent.CANCELLED_OK


def expected_state(
    on_hand: int,
    card_quantity: int,
    has_draft_line: bool,
    has_sent_line: bool,
    held: bool = False,
) -> set[CardState]:
    """The states consistent with a bin's stock and lines (used by ``kanban check``).

    ``held``: the bin's newest line was removed from a draft by a supervisor
    (event ``removed``), so the card may stay stocked below its card quantity
    until the next movement.
    """
    if has_sent_line:
        return {CardState.ORDERED}
    if has_draft_line:
        return {CardState.REPLENISH}
    if on_hand < card_quantity and not held:
        return set()  # below the card with no open line is never consistent
    return {CardState.STOCKED}


@dataclass(frozen=True)
class Flags:
    """Flags shown on top of the state."""

    stockout: bool
    overdue: bool
    count_needed: bool = False


def flags(on_hand: int, state: CardState | str, overdue: bool) -> Flags:
    """Stockout when on hand ≤ 0; overdue only while ordered; count needed while on hand is
    below zero, where the shelf and the ledger disagree. A count books what is on the shelf
    (never below zero), so any count clears it: a count of 0 leaves a stockout only."""
    return Flags(
        stockout=on_hand <= 0,
        overdue=overdue and CardState(state) is CardState.ORDERED,
        count_needed=on_hand < 0,
    )


def needs_action(state: CardState | str, stockout: bool, overdue: bool) -> bool:
    """A card someone must act on: to replenish, out of stock, or overdue (the wall's
    ``?sort=action``; static/js/cards.js needsAction is the same rule)."""
    return CardState(state) is CardState.REPLENISH or stockout or overdue


def line_quantity(order_quantity: int, pack_multiple: int) -> int:
    """The bin's order quantity rounded up to the item's pack multiple."""
    if order_quantity < 1:
        raise ValueError("order quantity must be at least 1")
    pack = max(1, pack_multiple)
    return -(-order_quantity // pack) * pack
