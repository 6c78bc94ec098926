"""Kanban replenishment board with barcode scanning."""

from __future__ import annotations

from typing import Any

from flask import Flask


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application: config, extensions, blueprints, security headers."""
    # Imported here, not at the top, so that importing a light module such as
    # kanban.domain (the decoder's worker processes do) does not load Flask.
    from .cli import register
    from .web.setup import build

    app = build(overrides)
    register(app.cli)  # so that `flask --app kanban` has the same commands
    return app
