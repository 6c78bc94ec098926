"""Two integrations saving the same record at the same moment against a real `kanban serve`:
exactly one save wins, the other gets 409 conflict, and the winner's value is the one kept
(issue 14: "never silently overwriting")."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests as http

from kanban.catalog.views import get_bin
from kanban.core import audit
from kanban.domain.statuses import AuditObject
from kanban.extensions import db

from ..conftest import LiveServer

ROUNDS = 6


def race(url: str, tokens: list[str], version: int, quantities: list[int]) -> list[int]:
    """Both tokens PATCH the bin from ``version`` at once; the status each got."""
    start = threading.Barrier(len(tokens))
    statuses = [0] * len(tokens)

    def save(n: int) -> None:
        start.wait()
        resp = http.patch(
            url,
            json={"version": version, "order_quantity": quantities[n]},
            headers={"Authorization": f"Bearer {tokens[n]}"},
            timeout=60,
        )
        statuses[n] = resp.status_code

    threads = [threading.Thread(target=save, args=(n,)) for n in range(len(tokens))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


@pytest.mark.slow
def test_two_saves_from_one_version_never_both_pass(
    live_server: LiveServer, make_token: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", on_hand=50, card=5, order=20)
    tokens = [make_token("supervisor", f"robot {n}") for n in range(2)]
    url = f"{live_server.url}/api/bins/A-1"

    def read() -> Any:
        return http.get(url, headers={"Authorization": f"Bearer {tokens[0]}"}, timeout=60).json()

    for round_ in range(ROUNDS):
        version = read()["version"]
        quantities = [100 + 10 * round_, 101 + 10 * round_]
        statuses = race(url, tokens, version, quantities)
        assert sorted(statuses) == [200, 409], statuses
        kept = quantities[statuses.index(200)]
        now = read()
        assert (now["order_quantity"], now["version"]) == (kept, version + 1)
    db.session.rollback()
    edits = audit.history(AuditObject.BIN, get_bin("A-1").id, limit=100)
    assert len([e for e in edits if e.action == "edited"]) == ROUNDS
