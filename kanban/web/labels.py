"""Blueprint `labels` (placeholder; filled in by its issue)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("labels", __name__)
