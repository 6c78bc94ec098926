"""Webhooks against real HTTP receivers on loopback: signed JSON events, checked with the
the manual's recipe; receivers that answer 500, hang, close the connection or redirect."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from kanban.core import feed
from kanban.core.actor import Actor
from kanban.core.errors import ServiceError
from kanban.domain.statuses import WebhookEvent
from kanban.extensions import db
from kanban.models import Event, Webhook, utcnow
from kanban.purchasing import sending
from kanban.sizing import loop as sizing
from kanban.stock.scanning import MoveResult, record_scan
from kanban.webhooks import endpoints, reader, signing

from ..outbox import deliveries, drain, read
from ..webhook_receiver import CLOSE, ERROR, HANG, REDIRECT, Receiver, manual_verify

ANA = Actor(name="ana", station="Station 2", source="usb")
HOUR = dt.timedelta(hours=1)


def pull(code: str, qty: int | None = None, mode: str = "pull") -> MoveResult:
    return record_scan(code, mode, qty, ANA, None)


def subscribe(url: str, events: list[str] | None = None) -> tuple[int, str]:
    hook, secret = endpoints.add(url, events, by="admin")
    db.session.commit()
    return hook.id, secret


@pytest.fixture
def receiver(app: Flask) -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def test_a_flip_is_posted_signed_with_the_documented_body_and_headers(
    app: Flask, make_bin: Callable[..., str], receiver: Receiver
) -> None:
    make_bin("A-1", on_hand=6, card=5)
    hook_id, receiver.secret = subscribe(receiver.url)
    pull("A-1")  # 6 → 5: not below, no flip: bin.changed only
    pull("A-1")  # 5 → 4: flips to replenish
    assert receiver.hits == []  # nothing leaves before the worker runs
    assert drain(app) == 3
    types = sorted(h.json()["type"] for h in receiver.hits)
    assert types == ["bin.changed", "bin.changed", "card.state_changed"]
    flip = next(h for h in receiver.hits if h.json()["type"] == "card.state_changed")
    event = flip.json()
    assert set(event) == {"id", "type", "created_at", "data"}
    assert dt.datetime.fromisoformat(event["created_at"]).tzinfo is not None
    data = event["data"]
    assert (data["code"], data["state"], data["previous_state"], data["flipped"]) == (
        "A-1",
        "replenish",
        "stocked",
        True,
    )
    assert data["change"]["cause"] == "pull" and data["change"]["actor"] == "ana"
    assert flip.headers["content-type"] == "application/json"
    assert flip.headers["kanban-event"] == "card.state_changed"
    assert flip.headers["kanban-event-id"] == event["id"]
    assert all(h.verified for h in receiver.hits)  # the manual's recipe accepts every one
    assert {d.status for d in deliveries(webhook_id=hook_id)} == {"delivered"}


def test_the_manual_recipe_refuses_a_wrong_secret_a_changed_body_and_an_old_signature() -> None:
    verify = manual_verify()
    body, now = b'{"id":"1"}', int(time.time())
    good = signing.signature("whsec_right", now, body)
    assert verify("whsec_right", good, body)
    assert signing.verify("whsec_right", good, body, now)
    assert not verify("whsec_wrong", good, body)
    assert not verify("whsec_right", good, body + b" ")
    old = signing.signature("whsec_right", now - 301, body)
    assert not verify("whsec_right", old, body)
    assert not verify("whsec_right", "v1=abc", body) and not verify("whsec_right", "", body)


def test_request_sent_and_received_are_posted_with_the_request(
    app: Flask, make_bin: Callable[..., str], receiver: Receiver
) -> None:
    make_bin("A-1", on_hand=5, card=5, order=3)
    _, receiver.secret = subscribe(
        receiver.url, [WebhookEvent.REQUEST_SENT, WebhookEvent.REQUEST_RECEIVED]
    )
    rid = int(pull("A-1").request["id"])  # type: ignore[index]
    sending.mark_sent(rid, actor="super")
    db.session.commit()
    pull("A-1", 3, mode="receive")
    drain(app)
    events = [h.json() for h in receiver.hits]
    assert [e["type"] for e in events] == ["request.sent", "request.received"]
    assert [e["data"]["status"] for e in events] == ["sent", "received"]
    assert events[0]["data"]["id"] == rid and events[0]["data"]["number"] == "REQ-00001"
    assert events[0]["data"]["lines"][0]["bin"] == "A-1"
    assert all(h.verified for h in receiver.hits)


def test_a_scan_writes_nothing_for_webhooks_and_the_worker_reads_only_what_is_subscribed(
    app: Flask, make_bin: Callable[..., str], receiver: Receiver
) -> None:
    make_bin("A-1", on_hand=7, card=5)
    pull("A-1")  # 6
    assert read(app) == 0 and deliveries(kind="webhook") == []  # no endpoint: nothing
    subscribe(receiver.url, [WebhookEvent.CARD_STATE_CHANGED])
    pull("A-1")  # 5: no flip
    pull("A-1")  # 4: flip
    assert deliveries(kind="webhook") == []  # the scans wrote their feed events only
    assert read(app) == 1
    [d] = deliveries(kind="webhook")
    assert d.event == "card.state_changed" and d.payload["body"]["data"]["on_hand"] == 4
    assert read(app) == 0  # read once, never twice
    assert drain(app) == 1 and [h.json()["type"] for h in receiver.hits] == [d.event]


def test_an_endpoint_hears_of_the_changes_after_it_was_added_in_order_and_once(
    app: Flask, make_bin: Callable[..., str], receiver: Receiver
) -> None:
    make_bin("A-1", on_hand=50, card=5)
    make_bin("B-1", on_hand=50, card=5)
    pull("A-1")  # before the endpoint: not for it
    hook_id, receiver.secret = subscribe(receiver.url, [WebhookEvent.BIN_CHANGED])
    for n in range(6):
        pull("B-1" if n % 2 else "A-1")
    assert drain(app) == 6
    got = [(h.json()["data"]["code"], h.json()["data"]["on_hand"]) for h in receiver.hits]
    assert got == [("A-1", 48), ("B-1", 49), ("A-1", 47), ("B-1", 48), ("A-1", 46), ("B-1", 47)]
    ids = [h.json()["id"] for h in receiver.hits]
    assert len(set(ids)) == 6 and all(h.verified for h in receiver.hits)
    assert drain(app) == 0


def test_a_change_that_rolls_back_writes_no_webhook(
    app: Flask, make_bin: Callable[..., str], receiver: Receiver
) -> None:
    make_bin("A-1", on_hand=6, card=5)
    subscribe(receiver.url)
    sizing.set_card_quantity("A-1", 12, "super")  # flips the card, in this transaction...
    assert db.session.scalar(sa.select(sa.func.count(Event.id)).where(Event.bin_code == "A-1"))
    db.session.rollback()  # ...which fails: its event is gone with it
    assert drain(app) == 0
    assert receiver.hits == [] and deliveries(kind="webhook") == []


@pytest.mark.parametrize(
    ("mode", "code", "says"),
    [
        (ERROR, 500, "answered 500"),
        (HANG, None, "No answer within 1 s"),
        (CLOSE, None, "closed the connection"),
        (REDIRECT, 301, "Redirects are not followed"),
    ],
)
def test_a_failing_receiver_is_retried_with_backoff_and_the_attempt_logged(
    app: Flask,
    make_bin: Callable[..., str],
    receiver: Receiver,
    mode: str,
    code: int | None,
    says: str,
) -> None:
    app.config["WEBHOOK_TIMEOUT"] = 1
    receiver.mode = mode
    make_bin("A-1", on_hand=6, card=5)
    hook_id, receiver.secret = subscribe(receiver.url, [WebhookEvent.BIN_CHANGED])
    pull("A-1")
    started = time.monotonic()
    drain(app)
    assert time.monotonic() - started < 8  # a hanging receiver is cut at the timeout
    [d] = deliveries(webhook_id=hook_id)
    assert (d.status, d.attempts) == ("pending", 1) and d.due_at > utcnow()
    [attempt] = d.attempt_log
    assert (attempt.ok, attempt.status_code) == (False, code)
    assert says in (attempt.error or "") and attempt.duration_ms is not None
    if mode == HANG:
        assert 900 <= attempt.duration_ms < 5000
    if mode == REDIRECT:
        assert len(receiver.hits) == 1  # the redirect's target was never asked
    receiver.mode = "ok"
    drain(app, later=HOUR)
    [d] = deliveries(webhook_id=hook_id)
    assert (d.status, d.attempts) == ("delivered", 2)
    assert receiver.hits[-1].verified


def test_a_receiver_that_is_down_costs_one_attempt_per_backoff_step(
    app: Flask, make_bin: Callable[..., str], receiver: Receiver
) -> None:
    receiver.mode = ERROR
    make_bin("A-1", on_hand=100, card=5)
    hook_id, receiver.secret = subscribe(receiver.url, [WebhookEvent.BIN_CHANGED])
    for _ in range(10):
        pull("A-1")
    drain(app)
    assert len(receiver.hits) == 1  # the first failure holds back the other nine
    db.session.rollback()
    hook = db.session.get(Webhook, hook_id)
    assert hook is not None and hook.failures == 1 and hook.paused_until is not None
    waiting = deliveries(webhook_id=hook_id)
    assert {d.due_at >= hook.paused_until for d in waiting} == {True}
    assert [d.attempts for d in waiting] == [1] + [0] * 9  # the rest went back untried
    assert [len(d.attempt_log) for d in waiting] == [1] + [0] * 9
    pull("A-1")  # a new event waits in the feed while the endpoint is paused
    assert read(app) == 0 and len(deliveries(webhook_id=hook_id)) == 10
    receiver.mode = "ok"
    drain(app, later=HOUR)
    assert len(receiver.hits) == 1 + 11
    assert [h.json()["data"]["on_hand"] for h in receiver.hits[1:]] == list(range(99, 88, -1))
    assert {d.status for d in deliveries(webhook_id=hook_id)} == {"delivered"}
    db.session.rollback()
    assert db.session.get(Webhook, hook_id).failures == 0  # type: ignore[union-attr]


def test_an_endpoint_that_is_away_keeps_a_bounded_backlog_and_gets_every_event_after(
    app: Flask, make_bin: Callable[..., str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "BACKLOG", 4)
    receiver.mode = ERROR
    make_bin("A-1", on_hand=100, card=5)
    hook_id, receiver.secret = subscribe(receiver.url, [WebhookEvent.BIN_CHANGED])
    for _ in range(10):
        pull("A-1")
    assert read(app) == 4 and read(app) == 0  # four wait in the outbox, six in the feed
    drain(app)
    assert len(receiver.hits) == 1 and len(deliveries(webhook_id=hook_id)) == 4
    receiver.mode = "ok"
    assert drain(app, later=HOUR) == 10
    got = [h.json()["data"]["on_hand"] for h in receiver.hits[1:]]
    assert got == list(range(99, 89, -1))  # every one, in order, none twice


def test_the_feed_is_read_a_chunk_at_a_time_and_a_flip_is_never_split(
    app: Flask, make_bin: Callable[..., str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "CHUNK", 3)
    make_bin("A-1", on_hand=10, card=5)
    hook_id, receiver.secret = subscribe(receiver.url)
    for _ in range(7):  # 10 → 3: the sixth pull (5 → 4) takes it below the card
        pull("A-1")
    # Three events per read; the flip's two deliveries (bin.changed, card.state_changed)
    # come from one event and are written together, in the second read.
    assert [read(app) for _ in range(4)] == [3, 4, 1, 0]
    waiting = deliveries(webhook_id=hook_id)
    assert [d.event for d in waiting].count("card.state_changed") == 1
    assert drain(app) == 8
    got = [h.json()["data"]["on_hand"] for h in receiver.hits if h.json()["type"] == "bin.changed"]
    assert got == list(range(9, 2, -1))  # every event, in order, once


def test_after_the_last_attempt_a_delivery_is_failed_and_can_be_sent_again(
    app: Flask, make_bin: Callable[..., str], receiver: Receiver
) -> None:
    app.config["DELIVERY_ATTEMPTS"] = 2
    receiver.mode = ERROR
    make_bin("A-1", on_hand=6, card=5)
    hook_id, receiver.secret = subscribe(receiver.url, [WebhookEvent.BIN_CHANGED])
    pull("A-1")
    drain(app)
    drain(app, later=HOUR)
    [d] = deliveries(webhook_id=hook_id)
    assert d.status == "failed" and "Gave up after 2 attempts" in (d.last_error or "")
    receiver.mode = "ok"
    again = endpoints.redeliver(hook_id, d.id, by="admin")
    db.session.commit()
    drain(app)
    first, second = deliveries(webhook_id=hook_id)
    assert (first.status, second.status) == ("failed", "delivered")
    assert second.event_id == first.event_id and second.id == again.id
    assert receiver.hits[-1].json()["id"] == first.event_id  # the same event, again
    assert [h.json() for h in receiver.hits[:1]] == [receiver.hits[-1].json()]


def test_a_removed_endpoint_hears_nothing_more(
    app: Flask, make_bin: Callable[..., str], receiver: Receiver
) -> None:
    make_bin("A-1", on_hand=6, card=5)
    hook_id, _ = subscribe(receiver.url)
    pull("A-1")
    endpoints.remove(hook_id)
    db.session.commit()
    pull("A-1")
    drain(app)
    assert receiver.hits == []
    assert {d.status for d in deliveries(webhook_id=hook_id)} <= {"skipped"}


def test_a_waiting_delivery_of_a_removed_endpoint_is_skipped(
    app: Flask, make_bin: Callable[..., str], receiver: Receiver
) -> None:
    make_bin("A-1", on_hand=6, card=5)
    hook_id, _ = subscribe(receiver.url, [WebhookEvent.BIN_CHANGED])
    pull("A-1")
    assert read(app) == 1
    endpoints.remove(hook_id)
    db.session.commit()
    drain(app)
    assert receiver.hits == []
    [d] = deliveries(webhook_id=hook_id)
    assert d.status == "skipped" and "removed" in (d.last_error or "")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "http://",
        "javascript:alert(1)",
        "http://host/x#frag",
        "http://host/a b",
        "http://host:0/",
        "http://host:99999/",
        "https://" + "a" * 2000 + ".example/",
        "",
    ],
)
def test_a_bad_url_is_refused_and_nothing_is_added(app: Flask, url: str) -> None:
    with pytest.raises(ServiceError) as refused:
        endpoints.add(url, None, by="admin")
    assert refused.value.code == "invalid_url"
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Webhook.id))) == 0


def test_unknown_events_are_refused_and_none_means_every_event(app: Flask) -> None:
    with pytest.raises(ServiceError) as refused:
        endpoints.add("https://erp.example/hook", ["card.flipped"], by="admin")
    assert refused.value.code == "unknown_event" and "card.state_changed" in refused.value.message
    db.session.rollback()
    hook, secret = endpoints.add("https://erp.example/hook", None, by="admin")
    assert hook.events == [str(e) for e in WebhookEvent]
    assert secret.startswith("whsec_") and len(secret) > 40


def test_an_endpoint_away_longer_than_the_retention_goes_on_from_the_oldest_event_kept(
    app: Flask,
    make_bin: Callable[..., str],
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    make_bin("A-1", on_hand=50, card=5)
    hook_id, receiver.secret = subscribe(receiver.url, [WebhookEvent.BIN_CHANGED])
    for _ in range(3):
        pull("A-1")
    feed.prune(utcnow() + HOUR)  # as if a month had passed: all but the newest are gone
    db.session.commit()
    with caplog.at_level("WARNING", logger="kanban.webhooks"):
        assert drain(app) == 1
    assert f"webhook {hook_id} missed the events pruned" in caplog.text
    assert [h.json()["data"]["on_hand"] for h in receiver.hits] == [47]
