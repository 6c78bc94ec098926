"""``kanban serve`` as a service runs it (docs/manual/ops/deploy.md, systemd): a home it
cannot write, no runtime folder, and still a clean start with no error in its log."""

from __future__ import annotations

from pathlib import Path

import requests as http

from ..conftest import start_server, stop_server


def test_serve_writes_nothing_to_a_home_it_cannot_write_and_logs_no_error(
    tmp_path: Path,
) -> None:
    instance = tmp_path / "instance"
    # A home on a read-only file system (/proc): nothing can be created in it, as under
    # systemd's ProtectSystem=strict.
    home = "/proc/kanban-no-home"
    server = start_server(
        f"sqlite:///{instance / 'kanban.db'}",
        instance,
        extra_env={"HOME": home, "XDG_RUNTIME_DIR": ""},
    )
    try:
        assert http.get(server.url + "/login", timeout=10).status_code == 200
    finally:
        stop_server(server)
    log = server.log.read_text()
    assert "[ERROR]" not in log, log
    assert "Control server" not in log, log
