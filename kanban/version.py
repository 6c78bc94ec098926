"""The release this code is: ``pyproject.toml``'s version, read at run time.

An installed site reads it from the package's metadata (``importlib.metadata``). A source
checkout reads its own ``pyproject.toml``: an editable install's metadata keeps the version
it was installed with until it is installed again, and would name the wrong release.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "kanban-board"
_ROOT = Path(__file__).resolve().parent.parent


def _checkout_version(root: Path) -> str | None:
    """The version in ``root/pyproject.toml`` when it is this project's, else None."""
    try:
        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return None
    if project.get("name") != DISTRIBUTION:
        return None
    return str(project.get("version") or "") or None


def version(root: Path = _ROOT) -> str:
    """This release's version, e.g. ``0.2.0`` (``unknown`` when neither source names it)."""
    found = _checkout_version(root)
    if found:
        return found
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"
