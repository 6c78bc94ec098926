"""Where templates, static files and migrations live, in a checkout or a wheel."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent


def _pick(top_level: str, packaged: str) -> Path:
    # In a checkout (or editable install) the top-level folder is beside the
    # package; a wheel carries it inside the package under a private name.
    checkout = ROOT / top_level
    if checkout.is_dir() and (ROOT / "pyproject.toml").exists():
        return checkout
    return PACKAGE / packaged


TEMPLATES = _pick("templates", "_templates")
STATIC = _pick("static", "_static")
MIGRATIONS = PACKAGE / "migrations"
