"""``GET /api/events/stream`` (server-sent events) against real ``kanban serve`` processes."""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests as http
from flask.testing import FlaskClient

from ..conftest import Api, LiveServer, start_server, stop_server

WAIT = 10.0  # seconds; every wait ends as soon as its message arrives


class Stream:
    """An SSE connection read on a thread; messages land in a queue as dicts."""

    def __init__(self, url: str, token: str, last_event_id: int | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.resp = http.get(
            url + "/api/events/stream", headers=headers, stream=True, timeout=(5, 30)
        )
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        msg: dict[str, Any] = {}
        try:
            for raw in self.resp.iter_lines(chunk_size=None, decode_unicode=True):
                if raw == "":
                    if msg:
                        self.messages.put(msg)
                    msg = {}
                elif not raw.startswith(":"):
                    field, _, value = raw.partition(":")
                    msg[field] = value.removeprefix(" ")
        except (http.RequestException, AttributeError, ValueError):
            pass  # closed by the test

    def next(self, want: Callable[[dict[str, Any]], bool] = lambda m: True) -> dict[str, Any]:
        """The next message that satisfies ``want`` (others are skipped)."""
        while True:
            msg = self.messages.get(timeout=WAIT)
            if want(msg):
                return msg

    def next_event(self) -> tuple[int, dict[str, Any]]:
        """The next change event (a message with an id), as (id, data)."""
        msg = self.next(lambda m: "id" in m)
        return int(msg["id"]), json.loads(msg["data"])

    def close(self) -> None:
        # Shut the socket first: closing the response alone waits for the reader
        # thread's pending read, i.e. until the next heartbeat.
        conn = getattr(self.resp.raw, "_connection", None)
        sock = getattr(conn, "sock", None)
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.resp.close()


@pytest.fixture
def streams() -> Iterator[Callable[..., Stream]]:
    opened: list[Stream] = []

    def open_stream(*args: Any, **kwargs: Any) -> Stream:
        stream = Stream(*args, **kwargs)
        opened.append(stream)
        return stream

    yield open_stream
    for stream in opened:
        stream.close()


@pytest.fixture
def display(make_token: Callable[..., str]) -> str:
    return make_token("display")


def event_ids(api: Api) -> list[int]:
    return [e["id"] for e in api.get("/api/events?after=0").get_json()["events"]]


def test_stream_sends_each_new_event_with_its_id(
    live_server: LiveServer,
    make_bin: Callable[..., str],
    api: Api,
    display: str,
    streams: Callable[..., Stream],
) -> None:
    make_bin("A-1", on_hand=6, card=5)
    stream = streams(live_server.url, display)
    assert stream.resp.status_code == 200
    assert stream.resp.headers["Content-Type"].startswith("text/event-stream")
    assert stream.next()["retry"] == "1000"
    hello = stream.next(lambda m: m.get("event") == "heartbeat")
    newest = json.loads(hello["data"])["last_id"]
    assert newest == max(event_ids(api))
    # A scan made through the API of the server reaches the open stream.
    scan = http.post(
        live_server.url + "/api/scans",
        json={"code": "A-1", "quantity": 2},
        headers=api.headers(),
        timeout=10,
    )
    assert scan.status_code == 201 and scan.json()["flipped"]
    event_id, data = stream.next_event()
    assert event_id > newest and data["id"] == event_id
    assert data["kind"] == "bin.changed" and data["bin"] == "A-1"
    assert data["data"]["state"] == "replenish" and data["data"]["on_hand"] == 4


def test_reconnecting_with_last_event_id_replays_exactly_the_missed_events(
    live_server: LiveServer,
    make_bin: Callable[..., str],
    api: Api,
    display: str,
    streams: Callable[..., Stream],
) -> None:
    for code in ("A-1", "A-2", "A-3"):
        make_bin(code, on_hand=20, card=5)
    seen = max(event_ids(api))
    for code in ("A-1", "A-2", "A-3", "A-1"):
        assert api.scan(code, quantity=1).status_code == 201
    missed = [i for i in event_ids(api) if i > seen]
    assert len(missed) == 4
    stream = streams(live_server.url, display, last_event_id=seen)
    got = [stream.next_event() for _ in missed]
    assert [i for i, _ in got] == missed
    assert [d["data"]["code"] for _, d in got] == ["A-1", "A-2", "A-3", "A-1"]
    assert [d["data"]["on_hand"] for _, d in got] == [19, 19, 19, 18]
    # And after the replay it stays live.
    assert api.scan("A-2", quantity=1).status_code == 201
    event_id, data = stream.next_event()
    assert event_id == max(event_ids(api)) and data["data"]["on_hand"] == 18


def test_stream_refuses_a_bad_resume_point_and_anonymous_readers(
    client: FlaskClient, display: str
) -> None:
    bearer = {"Authorization": f"Bearer {display}"}
    resp = client.get("/api/events/stream", headers={**bearer, "Last-Event-ID": "abc"})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "invalid_after"
    assert client.get("/api/events/stream").status_code == 401


def test_a_scan_on_another_server_process_reaches_the_stream(
    live_server: LiveServer,
    db_url: str,
    tmp_path: Path,
    make_bin: Callable[..., str],
    api: Api,
    display: str,
    streams: Callable[..., Stream],
) -> None:
    make_bin("A-1", on_hand=6, card=5)
    other = start_server(db_url, tmp_path / "other-instance", workers=1, threads=4)
    try:
        stream = streams(live_server.url, display)
        stream.next(lambda m: m.get("event") == "heartbeat")
        scan = http.post(
            other.url + "/api/scans",
            json={"code": "A-1", "quantity": 2},
            headers=api.headers(),
            timeout=10,
        )
        assert scan.status_code == 201
        event_id, data = stream.next_event()
        assert data["bin"] == "A-1" and data["data"]["state"] == "replenish"
        assert event_id == max(event_ids(api))
    finally:
        stop_server(other)
