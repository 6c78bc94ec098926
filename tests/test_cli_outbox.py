"""``kanban webhook`` and ``kanban worker``: endpoints from the shell (the secret on the
last line), and the outbox worker on its own, in the foreground and as a process."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from kanban.domain.statuses import WebhookEvent
from kanban.extensions import db
from kanban.models import Webhook

from .conftest import KANBAN, Api
from .outbox import deliveries
from .webhook_receiver import Receiver


def hooks() -> list[Webhook]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(Webhook).order_by(Webhook.id)))


@pytest.fixture
def receiver(app: Flask) -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def test_webhook_add_subscribes_to_every_event_and_prints_the_secret_last(runner: Any) -> None:
    result = runner.invoke(args=["webhook", "add", "https://erp.example/kanban"])
    assert result.exit_code == 0, result.output
    [hook] = hooks()
    assert result.output.splitlines()[-1] == hook.secret
    assert hook.events == [str(e) for e in WebhookEvent] and hook.created_by == "cli"


def test_webhook_add_with_events_and_list_and_remove(runner: Any) -> None:
    result = runner.invoke(
        args=[
            "webhook",
            "add",
            "http://127.0.0.1:9/hook",
            "--events",
            "request.sent,card.state_changed",
        ]
    )
    assert result.exit_code == 0, result.output
    [hook] = hooks()
    assert hook.events == ["card.state_changed", "request.sent"]
    listed = runner.invoke(args=["webhook", "list"]).output
    assert "http://127.0.0.1:9/hook" in listed and hook.secret not in listed
    assert runner.invoke(args=["webhook", "remove", str(hook.id)]).exit_code == 0
    assert runner.invoke(args=["webhook", "list"]).output.strip() == ""
    assert runner.invoke(args=["webhook", "remove", "99"]).exit_code == 1


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["ftp://erp.example/"], "http:// or https://"),
        (["https://erp.example/", "--events", "bin.changed,nope"], "Unknown event 'nope'"),
    ],
)
def test_webhook_add_refuses_bad_input_and_adds_nothing(
    runner: Any, args: list[str], says: str
) -> None:
    result = runner.invoke(args=["webhook", "add", *args])
    assert result.exit_code == 2 and says in result.output
    assert hooks() == []


def test_worker_once_delivers_what_is_due(
    runner: Any, make_bin: Callable[..., str], api: Api, receiver: Receiver
) -> None:
    receiver.secret = runner.invoke(args=["webhook", "add", receiver.url]).output.split()[-1]
    make_bin("A-1", on_hand=5, card=5)
    api.scan("A-1")  # flips: bin.changed and card.state_changed, plus the opening stock
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0 and "Handled 3 deliveries." in result.output
    assert len(receiver.hits) == 3 and all(h.verified for h in receiver.hits)


@pytest.mark.slow
def test_a_worker_process_delivers_then_stops_on_sigterm(
    app: Flask,
    db_url: str,
    instance: Path,
    runner: Any,
    make_bin: Callable[..., str],
    api: Api,
    receiver: Receiver,
) -> None:
    receiver.secret = runner.invoke(args=["webhook", "add", receiver.url]).output.split()[-1]
    env = {**os.environ, "KANBAN_DATABASE_URL": db_url, "KANBAN_INSTANCE_PATH": str(instance)}
    env["KANBAN_SECRET_KEY"] = "test-secret"
    proc = subprocess.Popen(
        [KANBAN, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        make_bin("A-1", on_hand=5, card=5)
        api.scan("A-1")
        deadline = time.monotonic() + 30
        while len(receiver.hits) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(receiver.hits) == 3
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert {d.status for d in deliveries(kind="webhook")} == {"delivered"}
