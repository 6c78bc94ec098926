"""A realistic demo site: zones, suppliers, 60+ bins and 30 days of pulls."""

from __future__ import annotations

import datetime as dt
import random

import sqlalchemy as sa

from ..domain import cards
from ..extensions import db
from ..models import Bin, Item, Movement, Supplier, SupplierRequest, User, Zone, utcnow
from .auth import create_user
from .cardflow import apply_card_event
from .sending import mark_sent
from .tx import begin_write

SUPPLIERS = [
    ("Würth Industrie", "orders@wurth.example", 5),
    ("Bossard Fasteners", "kanban@bossard.example", 7),
    ("RS Components", "po@rs.example", 2),
    ("Brammer Supplies", "orders@brammer.example", 10),
]
ZONES = ["Assembly line 1", "Assembly line 2", "Aisle B", "Packing"]
PARTS = [
    ("M6 hex bolt 20 mm", "box"),
    ("M6 nyloc nut", "box"),
    ("M8 washer", "box"),
    ("Cable tie 200 mm", "bag"),
    ("Heat-shrink 6 mm", "ea"),
    ("Crimp ring M5", "box"),
    ("Nitrile gloves L", "box"),
    ("Label roll 50x25", "ea"),
    ("Stretch film", "ea"),
    ("Packing tape 48 mm", "ea"),
    ("Carton 300x200", "ea"),
    ("Loctite 243", "ea"),
    ("Drill bit 6 mm", "ea"),
    ("Rivet 4x10", "box"),
    ("Grease cartridge", "ea"),
    ("Fuse 5 A", "box"),
]
DEMO_USERS = [
    ("admin", "admin", "kanban-admin"),
    ("super", "supervisor", "kanban-super"),
    ("ana", "operator", "kanban-ana"),
    ("ben", "operator", "kanban-ben"),
]


def seed(*, bins_per_zone: int = 16, days: int = 30, seed_value: int = 7) -> dict[str, int]:
    """Seed an empty database with a demo site; refuses a database that has bins."""
    begin_write()
    if db.session.scalar(sa.select(sa.func.count(Bin.id))):
        raise ValueError("the database already holds bins; demo data goes into an empty one")
    rng = random.Random(seed_value)
    for name, role, password in DEMO_USERS:
        if not db.session.scalar(sa.select(User.id).where(User.username == name)):
            create_user(name, password, role)
    suppliers = [Supplier(name=n, email=e, lead_time_days=lt) for n, e, lt in SUPPLIERS]
    db.session.add_all(suppliers)
    zones = [Zone(name=n, position=i) for i, n in enumerate(ZONES)]
    db.session.add_all(zones)
    db.session.flush()
    now = utcnow()
    start = now - dt.timedelta(days=days)
    bins: list[Bin] = []
    for zi, zone in enumerate(zones):
        for n in range(bins_per_zone):
            part, unit = PARTS[(zi * 5 + n) % len(PARTS)]
            sku = f"{zi + 1}{n + 1:03d}-{part.split()[0][:4].upper()}"
            item = Item(
                sku=sku,
                name=part,
                unit=unit,
                supplier=suppliers[(zi + n) % 4],
                pack_multiple=rng.choice([1, 1, 5, 10]),
                manufacturer_barcode=None,
            )
            card = rng.randint(4, 20)
            b = Bin(
                code=f"{'ABCD'[zi]}-{n // 6 + 1:02d}-{n % 6 + 1:02d}",
                item=item,
                zone=zone,
                on_hand=0,
                card_quantity=card,
                order_quantity=card * 2,
                pull_quantity=1,
                state="stocked",
                state_since=start,
            )
            db.session.add(b)
            bins.append(b)
    db.session.flush()
    movements = 0
    for b in bins:
        on_hand = b.card_quantity * 2 + rng.randint(0, 10)
        history = [
            Movement(
                bin_id=b.id,
                kind="initial",
                quantity=on_hand,
                on_hand_after=on_hand,
                state_after="stocked",
                actor="demo",
                source="demo",
                created_at=start,
            )
        ]
        rate = rng.uniform(0.3, 2.5)
        for day in range(days):
            for _ in range(rng.randint(0, int(rate * 2))):
                when = start + dt.timedelta(
                    days=day, hours=rng.randint(6, 17), minutes=rng.randint(0, 59)
                )
                on_hand -= 1
                history.append(
                    Movement(
                        bin_id=b.id,
                        kind="pull",
                        quantity=-1,
                        on_hand_after=on_hand,
                        state_after="stocked",
                        actor=rng.choice(["ana", "ben"]),
                        station=rng.choice(["Station 1", "Station 2"]),
                        source="demo",
                        created_at=when,
                    )
                )
            if on_hand < b.card_quantity and day < days - 4:
                on_hand += b.order_quantity  # an earlier cycle's delivery
                history.append(
                    Movement(
                        bin_id=b.id,
                        kind="receipt",
                        quantity=b.order_quantity,
                        on_hand_after=on_hand,
                        state_after="stocked",
                        actor="ben",
                        station="Goods in",
                        source="demo",
                        created_at=start + dt.timedelta(days=day, hours=18),
                    )
                )
        history.sort(key=lambda m: m.created_at)
        db.session.add_all(history)
        db.session.flush()
        movements += len(history)
        db.session.execute(sa.update(Bin).where(Bin.id == b.id).values(on_hand=on_hand))
        db.session.refresh(b)
        last = history[-1]
        apply_card_event(
            b,
            cards.level_event(b.on_hand, b.card_quantity),
            movement_id=last.id,
            reason=f"{b.on_hand} on hand < card {b.card_quantity} · demo history",
        )
    db.session.flush()
    # Send two suppliers' drafts so that some cards are ordered, one of them overdue.
    drafts = list(
        db.session.scalars(
            sa.select(SupplierRequest)
            .where(SupplierRequest.status == "draft")
            .order_by(SupplierRequest.id)
        )
    )
    for i, req in enumerate(drafts[:2]):
        mark_sent(req.id, via="manual", actor="demo")
        if i == 0:
            req.sent_at = now - dt.timedelta(days=req.supplier.lead_time_days + 2)
            req.expected_date = (now - dt.timedelta(days=2)).date()
    db.session.flush()
    return {
        "zones": len(zones),
        "suppliers": len(suppliers),
        "bins": len(bins),
        "movements": movements,
    }
