"""A throwaway PostgreSQL server for the tests (and .ci/run): loopback only."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

PG_BIN = Path(os.environ.get("KANBAN_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    # The server refuses to run as root; the image has a postgres user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


class ThrowawayPostgres:
    """initdb into a temp dir, start on a free loopback port, stop and delete on exit."""

    def __init__(self, *, durable: bool = False) -> None:
        #: fsync on, as in production (benchmarks); the tests run without it.
        self.durable = durable
        self.dir = Path(tempfile.mkdtemp(prefix="kanban-pg-"))
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> ThrowawayPostgres:
        """Start the server; raises if the binaries are missing."""
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"PostgreSQL server binaries not found in {PG_BIN}")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        data = self.dir / "data"
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT}
        subprocess.run(
            _as_postgres(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                ]
            ),
            check=True,
            **quiet,
        )
        return self.resume()

    def resume(self) -> ThrowawayPostgres:
        """Start the server again on its data and port (after :meth:`pause`)."""
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT}
        fsync = "on" if self.durable else "off"
        opts = f"-p {self.port} -k {self.dir} -h 127.0.0.1 -c fsync={fsync} -c max_connections=200"
        subprocess.run(
            _as_postgres(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(self.dir / "data"),
                    "-o",
                    opts,
                    "-l",
                    str(self.dir / "log"),
                    "-w",
                    "start",
                ]
            ),
            check=True,
            **quiet,
        )
        deadline = time.time() + 20
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.1)
        raise RuntimeError("PostgreSQL did not start")

    def pause(self) -> None:
        """Stop the server as an admin's restart does (its connections are cut), keeping its
        data and port for :meth:`resume`."""
        subprocess.run(
            _as_postgres(
                [str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "stop"]
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            check=True,
        )

    def stop(self) -> None:
        """Stop the server and delete its files."""
        subprocess.run(
            _as_postgres(
                [str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop"]
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(self.dir, ignore_errors=True)


if __name__ == "__main__":  # pragma: no cover - used by hand
    pg = ThrowawayPostgres().start()
    print(pg.url)


def new_database(server_url: str, name: str, template: str | None = None) -> str:
    """Create the database ``name`` on the server (dropped first if it is there, whoever is
    connected), empty or a copy of the database ``template``; its URL."""
    copy = f' TEMPLATE "{template}"' if template else ""
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
    admin.dispose()
    return sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)
