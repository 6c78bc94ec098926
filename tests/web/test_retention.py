"""Retention of the change feed (docs/manual/admins.md, "Retention of the change feed"):
events older than
``KANBAN_EVENT_RETENTION_DAYS`` are pruned by ``kanban prune-events`` and by the outbox
worker, and a client that would resume before the oldest event kept is told to reload."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from kanban import config
from kanban.core import feed
from kanban.extensions import db
from kanban.models import Event
from kanban.ops.worker import make_drainer

from ..conftest import Api

DAY = dt.timedelta(days=1)


@pytest.fixture
def history(make_bin: Callable[..., str], api: Api) -> list[int]:
    """Ten events: the first six 40 days old, the last four from today."""
    make_bin("A-1", on_hand=100, card=5)
    for _ in range(9):
        assert api.scan("A-1").status_code == 201
    ids = list(db.session.scalars(sa.select(Event.id).order_by(Event.id)))
    assert len(ids) == 10
    old = dt.datetime.now(dt.UTC) - 40 * DAY
    db.session.execute(sa.update(Event).where(Event.id.in_(ids[:6])).values(created_at=old))
    db.session.commit()
    return ids


def kept() -> list[int]:
    db.session.remove()
    return list(db.session.scalars(sa.select(Event.id).order_by(Event.id)))


def test_prune_events_deletes_what_is_older_than_the_window(
    history: list[int], runner: Any
) -> None:
    result = runner.invoke(args=["prune-events"])
    assert result.exit_code == 0, result.output
    assert "Pruned 6 change event(s) older than 30 days" in result.output
    assert kept() == history[6:]
    again = runner.invoke(args=["prune-events"])
    assert "Pruned 0 change event(s)" in again.output


def test_prune_events_takes_a_shorter_window_and_works_in_batches(
    history: list[int], runner: Any
) -> None:
    assert feed.prune(dt.datetime.now(dt.UTC) - 50 * DAY, batch=2) == 0
    assert feed.prune(dt.datetime.now(dt.UTC) - 30 * DAY, batch=4) == 6  # 4, then 2
    assert kept() == history[6:]
    result = runner.invoke(args=["prune-events", "--days", "400"])
    assert "Pruned 0" in result.output and kept() == history[6:]


def test_the_newest_event_is_kept_however_old(history: list[int]) -> None:
    long_ago = dt.datetime.now(dt.UTC) - 400 * DAY
    db.session.execute(sa.update(Event).values(created_at=long_ago))
    db.session.commit()
    assert feed.prune(dt.datetime.now(dt.UTC) - 30 * DAY) == 9
    assert kept() == [history[-1]]
    assert feed.last_event_id() == history[-1]


def test_the_retention_setting_is_checked_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KANBAN_EVENT_RETENTION_DAYS", "7")
    assert config.load({"SECRET_KEY": "x"})["EVENT_RETENTION_DAYS"] == 7
    monkeypatch.setenv("KANBAN_EVENT_RETENTION_DAYS", "0")
    with pytest.raises(ValueError, match="KANBAN_EVENT_RETENTION_DAYS must be a number from 1"):
        config.load({"SECRET_KEY": "x"})


def sse(app: Flask, token: str, last_event_id: int) -> list[dict[str, str]]:
    """The messages of one stream (the app is set to end streams quickly). A plain test
    client: the stream's body is read in the context the request ran in."""
    client = FlaskClient(app, app.response_class)
    resp = client.get(
        "/api/events/stream",
        headers={"Authorization": f"Bearer {token}", "Last-Event-ID": str(last_event_id)},
    )
    assert resp.status_code == 200
    messages = []
    for block in resp.get_data(as_text=True).split("\n\n"):
        msg = {}
        for line in block.splitlines():
            if line and not line.startswith(":"):
                name, _, value = line.partition(":")
                msg[name] = value.removeprefix(" ")
        if msg:
            messages.append(msg)
    return messages


def test_a_stream_resuming_before_the_oldest_kept_event_is_told_to_reload(
    app: Flask, history: list[int], make_token: Callable[[str], str]
) -> None:
    app.config.update(EVENT_STREAM_SECONDS=0.3, EVENT_STREAM_POLL_SECONDS=0.05)
    token = make_token("display")
    feed.prune(dt.datetime.now(dt.UTC) - 30 * DAY)
    # Last seen: the third event; the fourth to sixth are gone.
    messages = sse(app, token, history[2])
    resets = [m for m in messages if m.get("event") == "reset"]
    assert len(resets) == 1 and "events pruned" in resets[0]["data"]
    assert not [m for m in messages if "id" in m]  # no partial replay
    # Last seen: the last event pruned; nothing it needs is missing.
    messages = sse(app, token, history[5])
    assert [int(m["id"]) for m in messages if "id" in m] == history[6:]
    assert not [m for m in messages if m.get("event") == "reset"]


def test_polling_from_before_the_oldest_kept_event_answers_reset(
    history: list[int], client: FlaskClient, make_token: Callable[[str], str]
) -> None:
    token = make_token("display")
    headers = {"Authorization": f"Bearer {token}"}
    feed.prune(dt.datetime.now(dt.UTC) - 30 * DAY)
    body = client.get(f"/api/events?after={history[0]}", headers=headers).get_json()
    assert body == {"events": [], "last_id": history[-1], "reset": True}
    body = client.get(f"/api/events?after={history[5]}", headers=headers).get_json()
    assert [e["id"] for e in body["events"]] == history[6:] and "reset" not in body


def test_the_outbox_worker_prunes_the_feed_when_it_leads(app: Flask, history: list[int]) -> None:
    drainer = make_drainer(app, threads=1)
    drainer.start()
    try:
        deadline = time.monotonic() + 20
        while kept() != history[6:] and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        drainer.stop(timeout=10)
    assert kept() == history[6:]
