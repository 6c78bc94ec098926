"""The outbox and what hangs on it (issue 16): deliveries and their attempts,
webhook endpoints, and the notices supervisors are shown."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.statuses import DeliveryKind, DeliveryStatus, NoticeKind
from ..extensions import db
from . import UTCDateTime, utcnow


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class Webhook(db.Model):  # type: ignore[name-defined]
    """An endpoint that hears about the events it subscribed to (admins only)."""

    __tablename__ = "webhooks"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    #: The events it wants (values of WebhookEvent).
    events: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    #: Signs each delivery (HMAC-SHA256); kept to sign, shown to people once.
    secret: Mapped[str] = mapped_column(sa.String(100))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(sa.String(64), default="")
    #: Failed attempts in a row; while it fails, its deliveries wait until ``paused_until``.
    failures: Mapped[int] = mapped_column(default=0)
    paused_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: The last change-feed event read for it: card events are read from the feed by the
    #: worker (``webhooks.feed``), never written by the change itself.
    feed_cursor: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), default=0, server_default="0"
    )


class Delivery(db.Model):  # type: ignore[name-defined]
    """One row of the outbox: something to deliver, written in the transaction of the
    change that caused it and delivered later by a worker (``kanban.core.outbox``)."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), default=DeliveryStatus.PENDING)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Not before this time: the first try, a retry's backoff or a batch window.
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When a worker claimed it (status sending); the claim's identity.
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    #: Email: the supplier whose draft is emailed, and the request it concerns.
    supplier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("suppliers.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("supplier_requests.id"), index=True
    )
    #: Webhook: the endpoint, the event's name and id, and the body's object.
    webhook_id: Mapped[int | None] = mapped_column(sa.ForeignKey("webhooks.id"), index=True)
    event: Mapped[str | None] = mapped_column(sa.String(32))
    event_id: Mapped[str | None] = mapped_column(sa.String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    attempt_log: Mapped[list[DeliveryAttempt]] = relationship(
        back_populates="delivery", order_by="DeliveryAttempt.id"
    )
    webhook: Mapped[Webhook | None] = relationship()
    __table_args__ = (
        sa.CheckConstraint(_one_of("kind", tuple(DeliveryKind)), name="kind"),
        sa.CheckConstraint(_one_of("status", tuple(DeliveryStatus)), name="status"),
        sa.Index("ix_deliveries_status_due", "status", "due_at"),
        # Automatic sending batches: one waiting email per supplier.
        sa.Index(
            "uq_deliveries_one_pending_email",
            "supplier_id",
            unique=True,
            sqlite_where=sa.text("kind = 'email' AND status = 'pending'"),
            postgresql_where=sa.text("kind = 'email' AND status = 'pending'"),
        ),
    )


class DeliveryAttempt(db.Model):  # type: ignore[name-defined]
    """One try of a delivery: what came back and how long it took."""

    __tablename__ = "delivery_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(sa.ForeignKey("deliveries.id"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    duration_ms: Mapped[int | None]
    ok: Mapped[bool] = mapped_column(default=False)
    #: HTTP status of a webhook receiver's answer (None when none came).
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(sa.Text)

    delivery: Mapped[Delivery] = relationship(back_populates="attempt_log")


class Notice(db.Model):  # type: ignore[name-defined]
    """Something supervisors should know and a scan could not tell them."""

    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    message: Mapped[str] = mapped_column(sa.String(600))
    supplier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("suppliers.id"))
    request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("supplier_requests.id"))
    bin_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bins.id"))
    movement_id: Mapped[int | None] = mapped_column(sa.ForeignKey("movements.id"))
    actor: Mapped[str] = mapped_column(sa.String(64), default="")
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    seen_by: Mapped[str | None] = mapped_column(sa.String(64))
    __table_args__ = (sa.CheckConstraint(_one_of("kind", tuple(NoticeKind)), name="kind"),)
