"""``kanban check``: the ledger invariants (docs/manual/spec.md §6)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ..cards.lines import OVER_RECEIPT
from ..domain import cards
from ..domain.statuses import LineStatus, RequestStatus
from ..extensions import db
from ..models import LINE_IS_OPEN, Bin, Movement, RequestLine, SupplierRequest


@dataclass(frozen=True)
class Problem:
    """One broken invariant."""

    bin_code: str
    message: str

    def __str__(self) -> str:
        return f"{self.bin_code}: {self.message}"


def check() -> list[Problem]:
    """Every bin's on hand equals its ledger sum; every card agrees with its lines; every
    line's receipts are in the ledger and no larger than ordered unless confirmed."""
    sums = dict(
        db.session.execute(
            sa.select(
                Movement.bin_id, sa.func.coalesce(sa.func.sum(Movement.quantity), 0)
            ).group_by(Movement.bin_id)
        ).all()
    )
    lines: dict[int, list[tuple[str, str]]] = {}
    for bin_id, line_status, req_status in db.session.execute(
        sa.select(RequestLine.bin_id, RequestLine.status, SupplierRequest.status)
        .join(SupplierRequest)
        .where(LINE_IS_OPEN)
    ):
        lines.setdefault(bin_id, []).append((line_status, req_status))
    # A bin whose newest line was cancelled (removed from a draft) is on hold.
    newest = sa.select(sa.func.max(RequestLine.id)).group_by(RequestLine.bin_id)
    held = set(
        db.session.scalars(
            sa.select(RequestLine.bin_id).where(
                RequestLine.id.in_(newest), RequestLine.status == LineStatus.CANCELLED
            )
        )
    )
    problems: list[Problem] = []
    for b in db.session.scalars(sa.select(Bin).order_by(Bin.code)):
        total = int(sums.get(b.id, 0))
        if total != b.on_hand:
            problems.append(Problem(b.code, f"on hand {b.on_hand} but ledger sums to {total}"))
        open_lines = lines.get(b.id, [])
        if len(open_lines) > 1:
            problems.append(Problem(b.code, f"{len(open_lines)} open request lines"))
        bad = [r for _, r in open_lines if r not in (RequestStatus.DRAFT, RequestStatus.SENT)]
        if bad:
            problems.append(Problem(b.code, f"open line on a {bad[0]} request"))
        allowed = cards.expected_state(
            b.on_hand,
            b.card_quantity,
            has_draft_line=any(r == RequestStatus.DRAFT for _, r in open_lines),
            has_sent_line=any(r == RequestStatus.SENT for _, r in open_lines),
            held=b.id in held,
        )
        if b.state not in allowed:
            want = " or ".join(sorted(allowed)) or "no consistent state"
            problems.append(
                Problem(
                    b.code,
                    f"card is {b.state} with {b.on_hand} on hand, card {b.card_quantity} "
                    f"and {len(open_lines)} open line(s): expected {want}",
                )
            )
    return problems + _receipt_problems()


def _receipt_problems() -> list[Problem]:
    """A line's received quantity is the sum of the receipts booked on it (the ledger
    explains it), and more than was ordered only when the receipt that went over was
    confirmed (its ledger note says so, docs/manual/spec.md §2.3)."""
    confirmed = sa.case((Movement.note.like(f"{OVER_RECEIPT}%"), 1), else_=0)
    booked = (
        sa.select(
            Movement.line_id,
            sa.func.sum(Movement.quantity).label("booked"),
            sa.func.sum(confirmed).label("confirmed"),
        )
        .where(Movement.line_id.is_not(None))
        .group_by(Movement.line_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(
            Bin.code,
            RequestLine.id,
            RequestLine.quantity,
            RequestLine.received_quantity,
            sa.func.coalesce(booked.c.booked, 0),
            sa.func.coalesce(booked.c.confirmed, 0),
        )
        .join(Bin, Bin.id == RequestLine.bin_id)
        .outerjoin(booked, booked.c.line_id == RequestLine.id)
        .where(
            sa.or_(
                RequestLine.received_quantity != sa.func.coalesce(booked.c.booked, 0),
                sa.and_(
                    RequestLine.received_quantity > RequestLine.quantity,
                    sa.func.coalesce(booked.c.confirmed, 0) == 0,
                ),
            )
        )
        .order_by(Bin.code, RequestLine.id)
    )
    problems = []
    for code, line_id, ordered, received, in_ledger, confirmed_count in rows:
        if received != in_ledger:
            problems.append(
                Problem(
                    code,
                    f"request line {line_id} received {received} but the receipts "
                    f"booked on it add up to {in_ledger}",
                )
            )
        elif received > ordered and not confirmed_count:
            problems.append(
                Problem(
                    code,
                    f"request line {line_id} received {received} of {ordered} "
                    "ordered, without a confirmed over-receipt",
                )
            )
    return problems
