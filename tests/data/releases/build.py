"""Rebuild the databases of earlier releases kept in this folder.

For each migration revision, the code of the last commit whose newest migration was that
revision is checked out in a temporary git worktree and run: it seeds its demo site, makes a
few pulls, sends a request and books a partial receipt. Its SQLite file and a plain
``pg_dump`` of the same steps on a throwaway PostgreSQL are saved here, gzipped, as
``<revision>.sqlite.gz`` and ``<revision>.pg.sql.gz``.

Run from the repository root: ``python tests/data/releases/build.py [REVISION ...]``.
A new migration adds its revision and commit to ``RELEASES`` (the commit that ships it).
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT))

from tests.pg import PG_BIN, ThrowawayPostgres  # noqa: E402

#: revision → the last commit whose newest migration it was (docs in README.md here).
RELEASES = {
    "9fcb6c4a2ece": "8f4f4af",
    "acc0f2f54541": "f81914b488",
    "703b8b3996a7": "7cf1004dfe",
    "5ec15a7e0015": "8e82f0ee0b",
    "b41d7e2c9a10": "0f8feb833d",
}

#: Run by the old code: pulls that flip cards, a sent request, a partial receipt. It uses
#: only the HTTP API, which every release has kept.
EXERCISE = """
import sys
from kanban import create_app

operator, supervisor = sys.argv[1], sys.argv[2]
app = create_app()
client = app.test_client()

def call(method, path, token, **kw):
    resp = client.open(path, method=method, headers={"Authorization": "Bearer " + token}, **kw)
    assert resp.status_code < 300, (path, resp.status_code, resp.get_data(as_text=True))
    return resp.get_json()

cards = call("GET", "/api/bins", operator)["bins"]
stocked = [c for c in cards if c["state"] == "stocked" and c["on_hand"] > c["card_quantity"]]
for n, card in enumerate(stocked[:3], start=1):
    pull = card["on_hand"] - card["card_quantity"] + 1
    body = {"code": card["code"], "mode": "pull", "quantity": pull,
            "scan_id": f"release-pull-{n}", "confirm": True}
    call("POST", "/api/scans", operator, json=body)
drafts = call("GET", "/api/requests?status=draft", operator)["requests"]
sent = call("POST", f"/api/requests/{drafts[0]['id']}/send", supervisor, json={"via": "manual"})
line = sent["lines"][0]
body = {"code": line["bin"], "mode": "receive", "quantity": max(1, line["quantity"] // 2),
        "scan_id": "release-receipt-1", "confirm": True}
call("POST", "/api/scans", operator, json=body)
print("exercised", sent["number"])
"""


def _run_release(code: Path, url: str, instance: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KANBAN_")}
    env.update(
        PYTHONPATH=str(code),
        KANBAN_DATABASE_URL=url,
        KANBAN_INSTANCE_PATH=str(instance),
        KANBAN_SECRET_KEY="release-build",
        KANBAN_TIMEZONE="UTC",
    )
    kanban = str(Path(sys.executable).with_name("kanban"))

    def run(*args: str) -> str:
        done = subprocess.run(args, env=env, cwd=code, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{args} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def token(name: str, role: str) -> str:
        # The first release listed the roles by their enum names (OPERATOR), later ones by
        # their values (operator).
        try:
            return run(kanban, "token", "create", name, "--role", role).split()[0]
        except RuntimeError:
            return run(kanban, "token", "create", name, "--role", role.upper()).split()[0]

    run(kanban, "seed-demo")
    operator = token("release scanner", "operator")
    supervisor = token("release desk", "supervisor")
    run(sys.executable, "-c", EXERCISE, operator, supervisor)


def _gzip(source: Path, target: Path) -> None:
    with source.open("rb") as raw, gzip.open(target, "wb", compresslevel=9) as packed:
        shutil.copyfileobj(raw, packed)


def build(revision: str, commit: str, pg_url: str) -> None:
    """Write ``<revision>.sqlite.gz`` and ``<revision>.pg.sql.gz`` from ``commit``'s code."""
    with tempfile.TemporaryDirectory(prefix=f"kanban-release-{revision}-") as tmp:
        work = Path(tmp)
        code = work / "code"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(code), commit],
            check=True,
            capture_output=True,
        )
        try:
            sqlite_file = work / "kanban.db"
            _run_release(code, f"sqlite:///{sqlite_file}", work / "instance-sqlite")
            con = sa.create_engine(f"sqlite:///{sqlite_file}")
            with con.connect() as c:  # one file: the WAL folded in
                c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                c.exec_driver_sql("PRAGMA journal_mode=DELETE")
            con.dispose()
            _gzip(sqlite_file, HERE / f"{revision}.sqlite.gz")

            name = f"release_{revision}"
            admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
                c.exec_driver_sql(f'CREATE DATABASE "{name}"')
            admin.dispose()
            url = sa.make_url(pg_url).set(database=name)
            _run_release(code, url.render_as_string(hide_password=False), work / "instance-pg")
            dump = work / "dump.sql"
            pg_dump = shutil.which("pg_dump") or str(PG_BIN / "pg_dump")
            subprocess.run(
                [
                    pg_dump,
                    "--format=plain",
                    "--no-owner",
                    "--no-privileges",
                    f"--file={dump}",
                    url.set(drivername="postgresql").render_as_string(hide_password=False),
                ],
                check=True,
            )
            _gzip(dump, HERE / f"{revision}.pg.sql.gz")
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(code)], check=True
            )


def main(revisions: list[str]) -> None:
    """Build the files of ``revisions`` (all of ``RELEASES`` when none is named)."""
    pg = ThrowawayPostgres().start()
    try:
        for revision in revisions or list(RELEASES):
            build(revision, RELEASES[revision], pg.url)
            print(f"built {revision} from {RELEASES[revision]}")
    finally:
        pg.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
