"""The release this code is: ``pyproject.toml``'s version, read at run time.

An installed site reads it from the package's metadata (``importlib.metadata``). A source
checkout reads its own ``pyproject.toml``: an editable install's metadata keeps the version
it was installed with until it is installed again, and would name the wrong release.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "kanban-board"
_ROOT = Path(__file__).resolve().parent.parent


def _checkout_version(root: Path) -> str | None:
    """The version in ``root/pyproject.toml`` when it is this project's, else None."""
    path = root / "pyproject.toml"
    try:
        stat = path.stat()
    except OSError:
        return None
    return _read_version(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _read_version(path: Path, _mtime_ns: int, _size: int) -> str | None:
    """The version a ``pyproject.toml`` names, read again only when the file changes."""
    try:
        project = tomllib.loads(path.read_text(encoding="utf-8"))["project"]
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
