"""Typed SQLAlchemy 2.0 models (docs/manual/spec.md §2.1)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..domain.cards import CARD_STATES, CardState
from ..domain.statuses import (
    TOKEN_ROLES,
    USER_ROLES,
    AuditAction,
    AuditObject,
    LineStatus,
    MovementKind,
    RequestStatus,
    Source,
)
from ..extensions import db


def utcnow() -> dt.datetime:
    """The current time, UTC-aware."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """A timestamp stored as UTC and always returned UTC-aware (SQLite drops zones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use UTC-aware timestamps")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


def _record_version() -> Mapped[int]:
    """The version of a master-data record: +1 on every change of its fields by a person
    (docs/manual/decisions.md, "Editing master data"); an edit made on an older one is refused."""
    return mapped_column(default=1, server_default=sa.text("1"))


def _active() -> Mapped[bool]:
    return mapped_column(default=True, server_default=sa.true())


class Supplier(db.Model):  # type: ignore[name-defined]
    """Who bins are replenished from."""

    __tablename__ = "suppliers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    email: Mapped[str | None] = mapped_column(sa.String(254))
    #: The person at the supplier who handles our requests.
    contact: Mapped[str | None] = mapped_column(sa.String(120))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    lead_time_days: Mapped[int] = mapped_column(default=7)
    min_order_value: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    min_order_quantity: Mapped[int | None]
    #: Printed on every request to this supplier (our customer number, where to deliver).
    request_note: Mapped[str | None] = mapped_column(sa.String(500))
    auto_send: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    record_version: Mapped[int] = _record_version()

    items: Mapped[list[Item]] = relationship(back_populates="supplier")
    __table_args__ = (sa.CheckConstraint("lead_time_days >= 0", name="lead_time"),)


class Item(db.Model):  # type: ignore[name-defined]
    """A stocked article; every item has a preferred supplier."""

    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    unit: Mapped[str] = mapped_column(sa.String(16), default="ea")
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("suppliers.id"), index=True)
    supplier_part_number: Mapped[str | None] = mapped_column(sa.String(64))
    pack_multiple: Mapped[int] = mapped_column(default=1)
    unit_cost: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 4))
    manufacturer_barcode: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    active: Mapped[bool] = _active()
    record_version: Mapped[int] = _record_version()

    supplier: Mapped[Supplier] = relationship(back_populates="items")
    bins: Mapped[list[Bin]] = relationship(back_populates="item")
    __table_args__ = (sa.CheckConstraint("pack_multiple >= 1", name="pack_multiple"),)


class Zone(db.Model):  # type: ignore[name-defined]
    """Where bins live; the board groups by zone."""

    __tablename__ = "zones"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = _active()
    record_version: Mapped[int] = _record_version()

    bins: Mapped[list[Bin]] = relationship(back_populates="zone")


class Bin(db.Model):  # type: ignore[name-defined]
    """One item at one location, with its kanban card."""

    __tablename__ = "bins"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("items.id"), index=True)
    zone_id: Mapped[int] = mapped_column(sa.ForeignKey("zones.id"), index=True)
    on_hand: Mapped[int] = mapped_column(default=0)
    card_quantity: Mapped[int]
    order_quantity: Mapped[int]
    pull_quantity: Mapped[int] = mapped_column(default=1)
    state: Mapped[str] = mapped_column(sa.String(16), default=CardState.STOCKED)
    state_since: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The movement that put the card in its state: the board's "why" line.
    state_movement_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("movements.id", use_alter=True, name="fk_bins_state_movement")
    )
    active: Mapped[bool] = mapped_column(default=True)
    #: Bumped by every stock UPDATE (scans); master-data edits use ``record_version``.
    version: Mapped[int] = mapped_column(default=0)
    record_version: Mapped[int] = _record_version()

    item: Mapped[Item] = relationship(back_populates="bins")
    zone: Mapped[Zone] = relationship(back_populates="bins")
    state_movement: Mapped[Movement | None] = relationship(foreign_keys=[state_movement_id])
    __table_args__ = (
        sa.CheckConstraint("card_quantity >= 0", name="card_quantity"),
        sa.CheckConstraint("order_quantity >= 1", name="order_quantity"),
        sa.CheckConstraint("pull_quantity >= 1", name="pull_quantity"),
        sa.CheckConstraint(_in("state", CARD_STATES), name="state"),
    )


class User(UserMixin, db.Model):  # type: ignore[name-defined]
    """A person who logs in."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[str] = mapped_column(sa.String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Sessions carry the generation they were made in; raising it ends them all
    #: (logout, a new password, switching off, "log out everywhere").
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    __table_args__ = (sa.CheckConstraint(_in("role", USER_ROLES), name="role"),)

    @property
    def is_active(self) -> bool:
        """Deactivated users cannot log in."""
        return self.active

    def get_id(self) -> str:
        """What a session stores: the user and the generation it was made in."""
        return f"{self.id}.{self.session_generation}"

    def set_password(self, password: str, method: str) -> None:
        """Store a salted hash (of ``method``, e.g. ``scrypt:32768:8:1``), never the password."""
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        """True if ``password`` matches the stored hash."""
        return check_password_hash(self.password_hash, password)


class DeviceToken(db.Model):  # type: ignore[name-defined]
    """A bearer token for a handheld, an integration or a wall screen (hashed at rest)."""

    __tablename__ = "device_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))
    role: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: After this the token no longer works (None: until revoked).
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    __table_args__ = (sa.CheckConstraint(_in("role", TOKEN_ROLES), name="role"),)


class SupplierRequest(db.Model):  # type: ignore[name-defined]
    """A purchase request to one supplier; one draft per supplier collects lines."""

    __tablename__ = "supplier_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("suppliers.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=RequestStatus.DRAFT)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    expected_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    sent_via: Mapped[str | None] = mapped_column(sa.String(16))
    send_error: Mapped[str | None] = mapped_column(sa.Text)

    supplier: Mapped[Supplier] = relationship()
    lines: Mapped[list[RequestLine]] = relationship(
        back_populates="request", order_by="RequestLine.id"
    )
    __table_args__ = (
        sa.CheckConstraint(_in("status", tuple(RequestStatus)), name="status"),
        # Consolidated purchasing: never two drafts for one supplier.
        sa.Index(
            "uq_supplier_requests_one_draft",
            "supplier_id",
            unique=True,
            sqlite_where=sa.text("status = 'draft'"),
            postgresql_where=sa.text("status = 'draft'"),
        ),
    )


class RequestLine(db.Model):  # type: ignore[name-defined]
    """One bin's replenishment in a supplier request: one line per cycle."""

    __tablename__ = "request_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("supplier_requests.id"), index=True)
    bin_id: Mapped[int] = mapped_column(sa.ForeignKey("bins.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("items.id"))
    quantity: Mapped[int]
    received_quantity: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(sa.String(16), default=LineStatus.OPEN)
    reason: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    request: Mapped[SupplierRequest] = relationship(back_populates="lines")
    bin: Mapped[Bin] = relationship()
    item: Mapped[Item] = relationship()
    __table_args__ = (
        sa.CheckConstraint("quantity >= 1", name="quantity"),
        sa.CheckConstraint("received_quantity >= 0", name="received_quantity"),
        sa.CheckConstraint(_in("status", tuple(LineStatus)), name="status"),
        # Exactly one line per replenish cycle: a bin never has two open lines.
        sa.Index(
            "uq_request_lines_one_open_per_bin",
            "bin_id",
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        ),
    )


def written_in(column: Any, value: str) -> sa.ColumnElement[bool]:
    """``column = 'value'`` with the value written into the SQL, as a partial index's
    ``WHERE`` states it. A database uses a partial index only for a query whose ``WHERE``
    implies the index's. With the value as a bound parameter, SQLite prepares the
    statement anew on every execution to find that out (four times what the statement
    itself costs), and PostgreSQL's generic plan of a prepared statement cannot use the
    index at all."""
    return column == sa.literal_column(f"'{value}'", sa.String)


#: The bin's open line (the partial index ``uq_request_lines_one_open_per_bin``).
LINE_IS_OPEN = written_in(RequestLine.__table__.c.status, LineStatus.OPEN.value)
#: The supplier's draft (the partial index ``uq_supplier_requests_one_draft``).
REQUEST_IS_DRAFT = written_in(SupplierRequest.__table__.c.status, RequestStatus.DRAFT.value)


class Movement(db.Model):  # type: ignore[name-defined]
    """The stock ledger: one row per change, never edited or deleted."""

    __tablename__ = "movements"
    id: Mapped[int] = mapped_column(primary_key=True)
    bin_id: Mapped[int] = mapped_column(sa.ForeignKey("bins.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    quantity: Mapped[int]  # signed change of on hand
    on_hand_after: Mapped[int]
    state_after: Mapped[str] = mapped_column(sa.String(16))
    flipped: Mapped[bool] = mapped_column(default=False)
    request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("supplier_requests.id"))
    #: The request line a receipt was booked on.
    line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("request_lines.id"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    device_token_id: Mapped[int | None] = mapped_column(sa.ForeignKey("device_tokens.id"))
    actor: Mapped[str] = mapped_column(sa.String(64), default="")
    station: Mapped[str | None] = mapped_column(sa.String(64))
    source: Mapped[str] = mapped_column(sa.String(16), default=Source.API)
    scan_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    undo_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("movements.id"), unique=True)
    note: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    bin: Mapped[Bin] = relationship(foreign_keys=[bin_id])
    user: Mapped[User | None] = relationship()
    __table_args__ = (
        sa.CheckConstraint(_in("kind", tuple(MovementKind)), name="kind"),
        sa.CheckConstraint(_in("source", tuple(Source)), name="source"),
        sa.Index("ix_movements_bin_created", "bin_id", "created_at"),
    )


class Event(db.Model):  # type: ignore[name-defined]
    """The change feed: everything the board shows changes through an event."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(sa.String(32))
    bin_code: Mapped[str | None] = mapped_column(sa.String(16))
    request_id: Mapped[int | None]
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


class LoginFailure(db.Model):  # type: ignore[name-defined]
    """Login attempts, for rate limiting (kept in the database so all processes agree).

    A row is written before the password is checked and deleted when it was right, so
    what stays is the failures (see ``auth.logins``)."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), index=True)
    address: Mapped[str] = mapped_column(sa.String(64), index=True)
    #: The known device the attempt came from (its cookie's id), None for any other.
    device: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class AuditEntry(db.Model):  # type: ignore[name-defined]
    """One change to master data, users or tokens: who, when, what, before and after.

    Written in the transaction of the change (:mod:`kanban.core.audit`); never edited or
    deleted: the database refuses UPDATE and DELETE on this table (see the migration).
    """

    __tablename__ = "audit_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    token_id: Mapped[int | None] = mapped_column(sa.ForeignKey("device_tokens.id"))
    actor: Mapped[str] = mapped_column(sa.String(64), index=True)
    source: Mapped[str] = mapped_column(sa.String(16))
    object_type: Mapped[str] = mapped_column(sa.String(16))
    object_id: Mapped[int | None]
    #: What the record was called when it changed (a bin code, an SKU, a name).
    label: Mapped[str] = mapped_column(sa.String(200))
    action: Mapped[str] = mapped_column(sa.String(16))
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    __table_args__ = (
        sa.CheckConstraint(_in("object_type", tuple(AuditObject)), name="object_type"),
        sa.CheckConstraint(_in("action", tuple(AuditAction)), name="action"),
        sa.Index("ix_audit_entries_object", "object_type", "object_id"),
    )


class AuditLink(db.Model):  # type: ignore[name-defined]
    """Another record an audit entry changed (each bin an import changed), so that the
    record's page lists the entry in its history. Never edited or deleted either."""

    __tablename__ = "audit_links"
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("audit_entries.id"), primary_key=True)
    object_type: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    object_id: Mapped[int] = mapped_column(primary_key=True)
    __table_args__ = (sa.Index("ix_audit_links_object", "object_type", "object_id"),)


# The outbox, webhooks and notices live in their own module (this one was full);
# importing them here registers their tables with every import of the models.
from .outbox import Delivery as Delivery  # noqa: E402
from .outbox import DeliveryAttempt as DeliveryAttempt  # noqa: E402
from .outbox import Notice as Notice  # noqa: E402
from .outbox import Webhook as Webhook  # noqa: E402
