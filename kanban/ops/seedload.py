"""``kanban seed-load``: a year at a big site, for benchmarks and sizing (issue 17).

Suppliers, zones, items and bins, then the history of :mod:`.seedhistory` (movements,
supplier requests with their lines and receipts, and the change feed's events of the
last ``KANBAN_EVENT_RETENTION_DAYS`` days, as a site that prunes its feed holds them),
written with bulk inserts: PostgreSQL's COPY, or executemany elsewhere. Everything is
consistent: ``kanban check`` passes on the result. It refuses a database that holds
any of it already.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from ..core.tx import begin_write, conn
from ..domain import cards, leadtime, sizing
from ..domain.statuses import RequestStatus, SentVia
from ..models import (
    Bin,
    Event,
    Item,
    Movement,
    RequestLine,
    Supplier,
    SupplierRequest,
    Zone,
    utcnow,
)
from .demo import PARTS
from .seedhistory import MOVEMENT_COLUMNS, History, Simulation

#: Rows per executemany batch (SQLite and other databases without COPY).
BATCH = 5000
#: Bins per zone, about; zones are halls and lines of a plant.
BINS_PER_ZONE = 1000
HALLS = ("Hall 1", "Hall 2", "Hall 3", "Hall 4")
#: One supplier in this many is late with its last deliveries (overdue orders).
LATE_EVERY = 20


@dataclass(frozen=True)
class LoadSize:
    """How big the site is (the defaults: a large plant's year)."""

    bins: int = 20_000
    suppliers: int = 400
    movements: int = 5_000_000
    days: int = 365
    event_days: int = 30
    seed: int = 17

    def check(self) -> None:
        """Refuse sizes the history cannot have (a clear message for the CLI)."""
        if self.bins < 1 or self.suppliers < 1 or self.days < 2:
            raise ValueError("bins and suppliers must be at least 1, and days at least 2")
        if self.suppliers > self.bins:
            raise ValueError("there cannot be more suppliers than bins")
        if self.movements < self.bins * 2:
            raise ValueError("movements must be at least twice the bins (opening stock and pulls)")


SEEDED_TABLES = (Supplier, Zone, Item, Bin, Movement, SupplierRequest, Event)


def is_empty() -> bool:
    """True when no supplier, zone, item, bin, movement, request or event exists."""
    c = conn()
    return all(
        c.scalar(sa.select(sa.literal(1)).select_from(m).limit(1)) is None for m in SEEDED_TABLES
    )


# long: the tables in the order their references need, each in one bulk write
def seed_load(size: LoadSize, *, now: dt.datetime | None = None) -> dict[str, int]:
    """Fill an empty database with ``size`` (see the module docstring); the caller commits.

    Raises ValueError on a database that is not empty, or on an impossible size.
    """
    begin_write()
    if not is_empty():
        raise ValueError(
            "the database is not empty: seed-load fills an empty one only "
            "(create a new database, or use a throwaway one)"
        )
    size.check()
    now = now or utcnow()
    rng = random.Random(size.seed)
    suppliers = _suppliers(size, rng)
    zones = _zones(size)
    specs = _bins(size, suppliers, zones, rng)
    history = Simulation(
        specs,
        [s["name"] for s in suppliers],
        movements=size.movements,
        days=size.days,
        now=now,
        event_days=size.event_days,
        rng=rng,
    ).run()
    out = Bulk(conn())
    out.rows(
        Supplier,
        ("id", "name", Supplier.email.key, "lead_time_days"),
        ((s["id"], s["name"], s["address"], s["lead_time_days"]) for s in suppliers),
    )
    out.rows(Zone, ("id", "name", "position"), ((i + 1, z, i) for i, z in enumerate(zones)))
    item_cols = ("id", "sku", "name", "unit", "supplier_id", "pack_multiple")
    out.rows(
        Item,
        item_cols,
        (
            tuple(
                b[c if c != "name" else "item_name"]
                for c in ("id", "sku", "name", "unit", "supplier_id", "pack_multiple")
            )
            for b in specs
        ),
    )
    _write_bins(out, history)
    _write_requests(out, history, suppliers)
    with out.unindexed(Movement):
        out.rows(Movement, MOVEMENT_COLUMNS, history.movements)
    out.update_state_movements([(b.id, b.why[0]) for b in history.bins])
    out.rows(
        Event,
        ("id", "created_at", "kind", "bin_code", "request_id", "data"),
        ((i, *e) for i, e in enumerate(history.events, start=1)),
    )
    out.restart_ids()
    return {
        "zones": len(zones),
        "suppliers": len(suppliers),
        "bins": len(specs),
        "movements": len(history.movements),
        "requests": len(history.requests),
        "request lines": len(history.lines),
        "events": len(history.events),
    }


def _suppliers(size: LoadSize, rng: random.Random) -> list[dict[str, Any]]:
    return [
        {
            "id": n,
            "name": f"Supplier {n:04d}",
            "address": f"orders@supplier{n:04d}.example",
            "lead_time_days": rng.randint(2, 14),
            "late": n % LATE_EVERY == 0,
        }
        for n in range(1, size.suppliers + 1)
    ]


def _zones(size: LoadSize) -> list[str]:
    count = max(1, math.ceil(size.bins / BINS_PER_ZONE))
    return [f"{HALLS[n % len(HALLS)]} · Line {n // len(HALLS) + 1}" for n in range(count)]


def _zone_letters(n: int) -> str:
    letters = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


# long: one bin's master data and its kanban sizing, field by field
def _bins(
    size: LoadSize, suppliers: list[dict[str, Any]], zones: list[str], rng: random.Random
) -> list[dict[str, Any]]:
    """Every bin with its item: demand rates vary tenfold; each card is sized by the
    loop's own rule (docs/manual/spec.md §2.4) for its demand and supplier, so that bins rarely
    run empty; the order quantity covers two to four cards."""
    pulls_per_day = (size.movements - size.bins) / size.days
    rates = [rng.uniform(0.25, 2.5) for _ in range(size.bins)]
    scale = pulls_per_day / sum(rates)
    out = []
    per_zone = math.ceil(size.bins / len(zones))
    for n in range(size.bins):
        zone_n, place = divmod(n, per_zone)
        supplier = suppliers[n % len(suppliers)]
        part, unit = PARTS[n % len(PARTS)]
        per_day = rates[n] * scale
        card = max(2, sizing.recommend(per_day, supplier["lead_time_days"] + 2, 0.5))
        order = card * rng.randint(2, 4)
        pack = rng.choice([1, 1, 1, 5, 10])
        out.append(
            {
                "id": n + 1,
                "code": f"{_zone_letters(zone_n)}-{place // 50 + 1:02d}-{place % 50 + 1:02d}",
                "sku": f"P{n + 1:06d}",
                "item_name": f"{part} ({n + 1})",
                "unit": unit,
                "supplier_id": supplier["id"],
                "supplier": supplier["id"] - 1,
                "supplier_name": supplier["name"],
                "lead_time_days": supplier["lead_time_days"],
                "late": supplier["late"],
                "pack_multiple": pack,
                "zone": zones[zone_n],
                "zone_id": zone_n + 1,
                "card_quantity": card,
                "order_quantity": order,
                "line_quantity": cards.line_quantity(order, pack),
                "opening": card + order,
                "rate": rates[n],
            }
        )
    return out


def _write_bins(out: Bulk, history: History) -> None:
    """The bins as the history left them (their state's movement is set afterwards:
    the ledger refers to the bins, and the bins to the ledger)."""
    cols = (
        "id", "code", "item_id", "zone_id", "on_hand", "card_quantity", "order_quantity",
        "pull_quantity", "state", "state_since", "active", "version", "record_version",
    )  # fmt: skip
    out.rows(
        Bin,
        cols,
        (
            (
                b.id,
                b.code,
                b.id,
                b.spec["zone_id"],
                b.on_hand,
                b.card,
                b.spec["order_quantity"],
                1,
                b.state.value,
                b.since,
                True,
                0,
                1,
            )
            for b in history.bins
        ),
    )


def _write_requests(out: Bulk, history: History, suppliers: list[dict[str, Any]]) -> None:
    """The supplier requests and their lines, with what was received on each."""
    lead = {s["id"] - 1: s["lead_time_days"] for s in suppliers}
    req_cols = (
        "id", "supplier_id", "status", "created_at", "sent_at", "received_at",
        "expected_date", "sent_via",
    )  # fmt: skip
    out.rows(
        SupplierRequest,
        req_cols,
        (
            (
                r.id,
                r.supplier + 1,
                r.status.value,
                r.created_at,
                r.sent,
                r.received_at if r.status is RequestStatus.RECEIVED else None,
                leadtime.expected_date(r.sent, lead[r.supplier]) if r.sent else None,
                SentVia.MANUAL.value if r.sent else None,
            )
            for r in history.requests
        ),
    )
    line_cols = (
        "id", "request_id", "bin_id", "item_id", "quantity", "received_quantity", "status",
        "reason", "created_at", "closed_at",
    )  # fmt: skip
    out.rows(
        RequestLine,
        line_cols,
        (
            (
                ln.id,
                ln.request.id,
                ln.bin.id,
                ln.bin.id,
                ln.bin.delivered,
                ln.bin.delivered if ln.closed_at else 0,
                ln.status.value,
                ln.reason,
                ln.created_at,
                ln.closed_at,
            )
            for ln in history.lines
        ),
    )


class Bulk:
    """Bulk writes on one connection: COPY on PostgreSQL (psycopg), executemany elsewhere."""

    def __init__(self, connection: sa.Connection) -> None:
        self.conn = connection
        self.pg = connection.dialect.name == "postgresql"
        self.tables: list[sa.Table] = []

    def rows(self, model: Any, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Insert ``rows`` (tuples in the order of ``columns``) into the model's table."""
        table: sa.Table = model.__table__
        self.tables.append(table)
        # COPY knows nothing of the model's Python-side defaults: send them along.
        fixed = {
            c.name: c.default.arg
            for c in table.columns
            if c.name not in columns and isinstance(c.default, ScalarElementColumnDefault)
        }
        if fixed:
            extra = tuple(fixed.values())
            columns = (*columns, *fixed)
            rows = ((*row, *extra) for row in rows)
        if self.pg:
            self._copy(table, columns, rows)
            return
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(dict(zip(columns, row, strict=True)))
            if len(batch) >= BATCH:
                self.conn.execute(table.insert(), batch)
                batch = []
        if batch:
            self.conn.execute(table.insert(), batch)

    def _copy(self, table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        json_at = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, sa.JSON)]
        names = ", ".join(f'"{c}"' for c in columns)
        cursor = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                if json_at:
                    row = list(row)
                    for i in json_at:
                        row[i] = json.dumps(row[i], separators=(",", ":"), ensure_ascii=False)
                copy.write_row(row)

    @contextlib.contextmanager
    def unindexed(self, model: Any) -> Iterator[None]:
        """PostgreSQL: load a big table without its secondary indexes and foreign keys, then
        build them once over the loaded rows (much faster than row by row). Unique
        indexes stay; it is all one transaction, so a failure leaves the database as it was."""
        table: sa.Table = model.__table__
        if not self.pg:
            yield
            return
        indexes = [i for i in table.indexes if not i.unique]
        foreign = list(table.foreign_key_constraints)
        for fk in foreign:
            self.conn.execute(sa.schema.DropConstraint(fk))
        for index in indexes:
            index.drop(self.conn)
        yield
        for index in indexes:
            index.create(self.conn)
        for fk in foreign:
            self.conn.execute(sa.schema.AddConstraint(fk))

    def update_state_movements(self, pairs: list[tuple[int, int]]) -> None:
        """Point every bin at the movement that put its card in its state."""
        stmt = (
            sa.update(Bin.__table__)
            .where(Bin.__table__.c.id == sa.bindparam("b_id"))
            .values(state_movement_id=sa.bindparam("m_id"))
        )
        for start in range(0, len(pairs), BATCH):
            chunk = pairs[start : start + BATCH]
            self.conn.execute(stmt, [{"b_id": b, "m_id": m} for b, m in chunk])

    def restart_ids(self) -> None:
        """PostgreSQL: the id sequences continue after the ids written here."""
        if not self.pg:
            return
        for table in dict.fromkeys(self.tables):
            after = sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0) + 1).scalar_subquery()
            sequence = sa.func.pg_get_serial_sequence(table.name, "id")
            self.conn.execute(sa.select(sa.func.setval(sequence, after, False)))
