"""Blueprint `wall` (placeholder; filled in by its issue)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("wall", __name__)
