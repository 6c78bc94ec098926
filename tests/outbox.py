"""Draining the outbox inside a test, as the worker of `kanban serve` would."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Flask

from kanban.extensions import db
from kanban.models import Delivery
from kanban.ops.worker import make_drainer


def drain(app: Flask, *, later: dt.timedelta | None = None) -> int:
    """Deliver what is due (``later``: as if that much time had passed); returns how many
    deliveries were handled. Uses the app's settings as they are now."""
    db.session.rollback()  # see what the test committed
    now = dt.datetime.now(dt.UTC) + later if later is not None else None
    handled = make_drainer(app).drain(now)
    db.session.rollback()
    return handled


def read(app: Flask) -> int:
    """Run the worker's sources once (webhooks read the change feed); returns how many
    deliveries they wrote."""
    db.session.rollback()
    wrote = make_drainer(app).read_sources()
    db.session.rollback()
    return wrote


def deliveries(**where: object) -> list[Delivery]:
    """Deliveries matching ``where`` (column = value), oldest first, as committed."""
    db.session.rollback()
    stmt = sa.select(Delivery).order_by(Delivery.id)
    for column, value in where.items():
        stmt = stmt.where(getattr(Delivery, column) == value)
    return list(db.session.scalars(stmt))
