"""Notices for supervisors: what the system did or was told that a person should
know about, and nobody was there to hear (docs/manual/supervisors.md "Notices").

Written in the transaction of what they report (an over-receipt an operator
confirmed, automatic sending stopped by the daily cap or given up), listed on
the notices page until a supervisor marks them seen.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from ..domain.statuses import NoticeKind
from ..extensions import db
from ..models import Notice, utcnow

#: The longest message a notice keeps.
MESSAGE_MAX = 600


def add(
    kind: NoticeKind,
    message: str,
    *,
    actor: str = "",
    data: dict[str, Any] | None = None,
    **subject: int | None,
) -> Notice:
    """Record a notice in the current transaction (flushes).

    ``subject``: ``supplier_id``, ``request_id``, ``bin_id``, ``movement_id``.
    """
    notice = Notice(
        kind=kind,
        message=message[:MESSAGE_MAX],
        actor=actor[:64],
        data=data or {},
        created_at=utcnow(),
        **subject,
    )
    db.session.add(notice)
    db.session.flush()
    return notice


def unseen_count() -> int:
    """How many notices no supervisor has marked seen."""
    return int(
        db.session.scalar(sa.select(sa.func.count(Notice.id)).where(Notice.seen_at.is_(None))) or 0
    )


def listing(*, unseen_only: bool = False, limit: int = 200) -> list[Notice]:
    """Notices, newest first."""
    stmt = sa.select(Notice).order_by(Notice.id.desc()).limit(limit)
    if unseen_only:
        stmt = stmt.where(Notice.seen_at.is_(None))
    return list(db.session.scalars(stmt))


def mark_seen(notice_ids: Iterable[int] | None, *, by: str) -> int:
    """Mark these notices (None: every unseen one) seen by ``by``; returns how many."""
    stmt = sa.update(Notice).where(Notice.seen_at.is_(None))
    if notice_ids is not None:
        stmt = stmt.where(Notice.id.in_(list(notice_ids)))
    result = db.session.execute(stmt.values(seen_at=utcnow(), seen_by=by[:64]))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
