"""A database of an earlier release, on SQLite and on PostgreSQL, for each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .releases import drop_postgres, load_postgres, load_sqlite


@pytest.fixture(params=["sqlite", "postgresql"])
def release_db(
    request: pytest.FixtureRequest, tmp_path: Path, worker_id: str
) -> Iterator[Callable[[str], str]]:
    """Loads a release's database (by revision) on this test's backend; returns its URL."""
    made: list[str] = []
    server = request.getfixturevalue("pg_server_url") if request.param == "postgresql" else ""

    def load(revision: str) -> str:
        if request.param == "sqlite":
            folder = tmp_path / "site"
            folder.mkdir(exist_ok=True)
            return load_sqlite(revision, folder / "kanban.db")
        name = f"release_{revision}_{worker_id}".replace("-", "_")
        made.append(name)
        return load_postgres(revision, server, name)

    yield load
    for name in made:
        drop_postgres(server, name)
