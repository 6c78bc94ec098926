"""More routes on the API blueprint (placeholder; filled in by its issue)."""

from __future__ import annotations

from .api import bp

__all__ = ["bp"]
