"""Kanban replenishment board with barcode scanning."""

from __future__ import annotations

from typing import Any

from flask import Flask


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application: config, extensions, blueprints, security headers."""
    from .web.setup import build

    return build(overrides)
