"""What a scan must pass before it moves stock: a quantity in range, a readable scan
id, and a confirmation when the quantity is unusual or more than the order still owes.

The rules are in :mod:`kanban.domain.quantities`; this module reads the bin's numbers
(from the card the scan already read, so it adds no query for a pull) and refuses.
The numbers are read before the write lock: a question is a safety net for a typing
error, not a stock reservation, so a pull racing another one may go unasked.
"""

from __future__ import annotations

import uuid

from ..cards import lines
from ..catalog.views import CardView
from ..core.errors import ServiceError
from ..domain import quantities
from ..domain.statuses import Mode

MAX_QUANTITY = 1_000_000
SCAN_ID_MAX = 64

#: The refusals a scan may pass by carrying ``"confirm": true`` (the scan page asks).
UNUSUAL_QUANTITY = "unusual_quantity"
OVER_RECEIPT = "over_receipt"
CONFIRMABLE = (UNUSUAL_QUANTITY, OVER_RECEIPT)


def lowest_quantity(mode: str) -> int:
    """The least a scan in ``mode`` takes: 0 for a count (an empty bin), else 1."""
    return 0 if mode == Mode.COUNT else 1


def quantity_rule(mode: str) -> str:
    """What every refusal of a scan's quantity says (the scan page shows the same words)."""
    return f"The quantity must be a whole number from {lowest_quantity(mode)} to {MAX_QUANTITY}."


def check_quantity(quantity: int | None, mode: str) -> None:
    """A given quantity is a whole number from :func:`lowest_quantity` to MAX_QUANTITY."""
    if quantity is None:
        return
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int)
        or not lowest_quantity(mode) <= quantity <= MAX_QUANTITY
    ):
        raise ServiceError("invalid_quantity", quantity_rule(mode))


def check_scan_id(scan_id: str | None) -> str:
    """A client scan id, or a fresh one; bounded and printable."""
    if scan_id is None:
        return uuid.uuid4().hex
    if (
        not isinstance(scan_id, str)
        or not 1 <= len(scan_id) <= SCAN_ID_MAX
        or not all(c.isalnum() or c in "-_.:" for c in scan_id)
    ):
        raise ServiceError(
            "invalid_scan_id",
            f"scan_id must be 1–{SCAN_ID_MAX} letters, digits or - _ . :",
        )
    return scan_id


def check_usual(v: CardView, mode: Mode, quantity: int, factor: int) -> None:
    """Refuse (``409 unusual_quantity``) a pull or count far outside the bin's normal range.

    The answer's ``details`` carry the quantity, the limits it passes and their values,
    so that a client can explain the question.
    """
    numbers = quantities.BinNumbers(v.on_hand, v.card_quantity, v.order_quantity, v.pull_quantity)
    if mode is Mode.PULL:
        found = quantities.unusual_pull(quantity, numbers, factor)
    elif mode is Mode.COUNT:
        found = quantities.unusual_count(quantity, numbers, factor)
    else:
        found = None
    if found is not None:
        raise ServiceError(
            UNUSUAL_QUANTITY,
            quantities.describe(found, code=v.code, unit=v.unit),
            409,
            bin=v.code,
            mode=str(mode),
            **found.details(),
        )


def check_confirmed(
    v: CardView, mode: Mode, quantity: int, *, given: bool, factor: int, confirm: bool
) -> lines.OverReceipt | None:
    """The questions a scan must have answered before it moves stock (unless confirmed):
    an unusual pull or count, and a receipt of more than the order still owes.

    Returns the over-receipt a confirmed scan makes, so that supervisors are told of it.
    """
    over = lines.over_receipt(v.id, quantity) if mode is Mode.RECEIVE and given else None
    if not confirm:
        check_usual(v, mode, quantity, factor)
        if over is not None:
            raise over.refusal()
    return over
