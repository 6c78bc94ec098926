"""Blueprint `requests` (placeholder; filled in by its issue)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("requests", __name__)
