"""``GET /api/health``: whether this process answers and reaches its database (a load
balancer's or a monitor's check), and which release runs (routes on ``api.bp``)."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import jsonify
from flask_login import current_user

from ..extensions import db
from ..version import version
from .api import bp

log = logging.getLogger("kanban")


@bp.get("/health")
def health() -> Any:
    """200 ``{"status": "ok"}`` when the database answers, else 503. Anyone may ask (a load
    balancer has no token); the release is told to a logged-in person or a token only."""
    try:
        db.session.execute(sa.text("SELECT 1"))
        db.session.rollback()
        body: dict[str, Any] = {"status": "ok", "database": "ok"}
        status = 200
    except sa.exc.SQLAlchemyError:
        log.exception("health check: the database does not answer")
        db.session.rollback()
        body, status = {"status": "unavailable", "database": "unavailable"}, 503
    if current_user.is_authenticated:
        body["version"] = version()
    return jsonify(body), status
