"""When a scanned quantity is far outside a bin's normal range (docs/manual/spec.md §3.1).

Pure: it takes the bin's numbers as the scan read them and says which limits a
quantity passes. The stock package looks the numbers up and refuses the scan
(``409 unusual_quantity``) unless the scan was confirmed; the scan page then asks.

A **pull** is unusual when it is more than the bin's own pull quantity (what a scan
without a quantity takes, which never asks) *and* more than one of:

* the stock on hand (it would take the bin below zero),
* the order quantity (more than one whole delivery at once),
* ``factor`` × the pull quantity (the usual pull).

A **count** is unusual when it is more than ``factor`` × the most the bin normally
holds: the larger of its on hand and a full card plus a delivery (card quantity +
order quantity). A count *below* on hand never asks: finding less than recorded is
what counts are for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .statuses import QuantityLimit

#: How far above the usual a quantity may go before the scan asks (KANBAN_UNUSUAL_FACTOR).
DEFAULT_FACTOR = 10
#: The bounds of that setting.
FACTOR_MIN, FACTOR_MAX = 2, 1000


@dataclass(frozen=True)
class BinNumbers:
    """What the rule needs to know about a bin, as the scan read it."""

    on_hand: int
    card_quantity: int
    order_quantity: int
    pull_quantity: int


@dataclass(frozen=True)
class Unusual:
    """A quantity outside the normal range: the limits it passes, every limit's value,
    and the bin's numbers behind them."""

    quantity: int
    exceeds: tuple[QuantityLimit, ...]
    limits: dict[QuantityLimit, int]
    factor: int
    numbers: BinNumbers
    counting: bool = field(default=False)

    def details(self) -> dict[str, object]:
        """What a client needs to explain the question (the 409's ``details``)."""
        return {
            "quantity": self.quantity,
            "exceeds": [str(limit) for limit in self.exceeds],
            "limits": {str(k): v for k, v in self.limits.items()},
            "factor": self.factor,
            "on_hand": self.numbers.on_hand,
            "card_quantity": self.numbers.card_quantity,
            "order_quantity": self.numbers.order_quantity,
            "pull_quantity": self.numbers.pull_quantity,
        }


def unusual_pull(quantity: int, b: BinNumbers, factor: int = DEFAULT_FACTOR) -> Unusual | None:
    """The limits a pull of ``quantity`` passes, or None when it is within the normal range."""
    if quantity <= b.pull_quantity:
        return None
    limits = {
        QuantityLimit.ON_HAND: b.on_hand,
        QuantityLimit.ORDER_QUANTITY: b.order_quantity,
        QuantityLimit.USUAL_PULL: factor * b.pull_quantity,
    }
    exceeds = tuple(name for name, limit in limits.items() if quantity > limit)
    return Unusual(quantity, exceeds, limits, factor, b) if exceeds else None


def full_bin(b: BinNumbers) -> int:
    """The most the bin normally holds: its on hand, or a full card plus a delivery."""
    return max(b.on_hand, b.card_quantity + b.order_quantity)


def unusual_count(quantity: int, b: BinNumbers, factor: int = DEFAULT_FACTOR) -> Unusual | None:
    """A count far above anything the bin holds, or None."""
    limit = factor * full_bin(b)
    if quantity <= limit:
        return None
    return Unusual(
        quantity, (QuantityLimit.FULL_BIN,), {QuantityLimit.FULL_BIN: limit}, factor, b, True
    )


def describe(u: Unusual, *, code: str, unit: str) -> str:
    """The question in words: what is unusual about this quantity, and what to do."""
    if u.counting:
        return (
            f"A count of {u.quantity} {unit} in bin {code} is more than {u.factor} times "
            f"the most it normally holds ({full_bin(u.numbers)}). Confirm to book it anyway."
        )
    why = {
        QuantityLimit.ON_HAND: f"the {u.numbers.on_hand} on hand",
        QuantityLimit.ORDER_QUANTITY: f"the order quantity of {u.numbers.order_quantity}",
        QuantityLimit.USUAL_PULL: f"{u.factor} times the usual pull of {u.numbers.pull_quantity}",
    }
    reasons = [why[limit] for limit in u.exceeds]
    joined = reasons[0] if len(reasons) == 1 else ", ".join(reasons[:-1]) + " and " + reasons[-1]
    return (
        f"Pulling {u.quantity} {unit} from bin {code} is more than {joined}. "
        "Confirm to book it anyway."
    )
