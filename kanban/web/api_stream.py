"""``GET /api/events/stream``: the change feed as server-sent events (docs/manual/spec.md §4 Live).

The feed lives in the database, so every app process (and every host sharing
one PostgreSQL) sees every event: each open stream polls ``events_after(last)``
a few times a second and returns its connection to the pool between polls.

* Resume: the ``Last-Event-ID`` header (sent by EventSource when it reconnects),
  else ``?after=N``, else from the newest event. Each event carries ``id:``.
* A client whose resume point is older than the oldest event kept (events older
  than ``KANBAN_EVENT_RETENTION_DAYS`` are pruned) gets a ``reset`` event and
  reloads in full, as does one more than ``MAX_REPLAY`` events behind.
* A ``heartbeat`` event (after a keep-alive comment) every ``HEARTBEAT`` seconds
  lets a screen tell "quiet" from "disconnected".
* Every ``AUTH_CHECK_SECONDS`` the stream checks that its token is still live (not revoked
  or expired) or its person's session still valid; if not it sends ``denied`` and ends.
* A stream ends after ``EVENT_STREAM_SECONDS`` (5 min) so server threads are
  recycled; EventSource reconnects by itself with ``Last-Event-ID``.
* Each stream holds a server thread, so a process serves at most
  ``EVENT_STREAM_SLOTS`` streams at once; beyond that it answers 503 and the
  page falls back to polling ``GET /api/events?after=N``.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from flask import Response, current_app, jsonify, request, stream_with_context
from flask_login import current_user

from ..auth import users as auth_service
from ..core import feed as events
from ..core import outage
from ..domain.numbers import whole_number
from ..domain.statuses import Role
from ..extensions import db
from .api import bp
from .errors import end_session
from .security import TokenPrincipal, requires

POLL_SECONDS = 0.25
#: How often a stream checks that its principal may still read the feed: a revoked token's
#: or a logged-out session's stream ends within this and one poll (well under a second).
AUTH_CHECK_SECONDS = POLL_SECONDS
HEARTBEAT_SECONDS = 10.0
STREAM_SECONDS = 300.0
STREAM_SLOTS = 8
#: What EventSource waits before it reconnects (ms), sent as ``retry:``.
RETRY_MS = 1000
#: A client further behind than this reloads instead of replaying every event.
MAX_REPLAY = 5000

_slots_lock = threading.Lock()
_slots_in_use = 0

__all__ = ["bp"]


def _take_slot(limit: int) -> bool:
    global _slots_in_use
    with _slots_lock:
        if _slots_in_use >= limit:
            return False
        _slots_in_use += 1
        return True


def _give_slot() -> None:
    global _slots_in_use
    with _slots_lock:
        _slots_in_use -= 1


def _resume_point() -> int | None:
    """Where the client left off, or None if it sent nothing usable."""
    raw = request.headers.get("Last-Event-ID")
    if raw is None or raw.strip() == "":
        raw = request.args.get("after")
    if raw is None or raw == "":
        return events.last_event_id()
    return whole_number(raw.strip())


def _sse(event: str | None, data: Any, event_id: int | None = None) -> str:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if event is not None:
        lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, separators=(",", ":"), ensure_ascii=False))
    return "\n".join(lines) + "\n\n"


def _client_gone(sock: Any) -> bool:
    """True when the client has closed the connection (only known on gunicorn).

    Noticing it between polls frees the thread at once instead of at the next
    write, so a closed tab or a server shutdown does not wait for a heartbeat.
    """
    if not isinstance(sock, socket.socket) or hasattr(sock, "pending"):  # no peeking on TLS
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _principal_check() -> Any:
    """A function that says whether the stream's principal may still read the feed."""
    who = current_user._get_current_object()
    if isinstance(who, TokenPrincipal):
        token_id = who.token_id
        return lambda: auth_service.token_is_live(token_id)
    user_id, generation = who.id, who.session_generation
    return lambda: auth_service.session_is_live(user_id, generation)


def _stream(after: int, role: str, still_allowed: Any, sock: Any) -> Iterator[str]:
    cfg = current_app.config
    poll = float(cfg.get("EVENT_STREAM_POLL_SECONDS", POLL_SECONDS))
    beat = float(cfg.get("EVENT_STREAM_HEARTBEAT_SECONDS", HEARTBEAT_SECONDS))
    ends = time.monotonic() + float(cfg.get("EVENT_STREAM_SECONDS", STREAM_SECONDS))
    last = after
    try:
        newest = events.last_event_id()
        pruned = events.pruned_after(after)
        db.session.remove()
        yield f"retry: {RETRY_MS}\n\n"
        if pruned:  # what the client missed is no longer in the feed
            yield _sse("reset", {"last_id": newest, "reason": "events pruned"})
            return
        if newest - after > MAX_REPLAY:
            yield _sse("reset", {"last_id": newest, "reason": "too far behind"})
            return
        yield _sse("heartbeat", {"last_id": newest, "time": time.time()})
        next_beat = time.monotonic() + beat
        next_check = time.monotonic() + AUTH_CHECK_SECONDS
        while time.monotonic() < ends:
            found = events.events_after(last)
            rows = [(e.id, events.event_dict(e, role)) for e in found]
            allowed = True
            if time.monotonic() >= next_check:  # revoked, expired, logged out: end soon
                allowed = still_allowed()
                next_check = time.monotonic() + AUTH_CHECK_SECONDS
            # Between polls the stream holds no transaction and no connection.
            db.session.remove()
            if not allowed:
                yield _sse("denied", {"message": "Access to the feed was revoked."})
                return
            for event_id, data in rows:
                last = event_id
                if data is not None:  # not for this principal's eyes: skipped, not resent
                    yield _sse(None, data, event_id)
            if len(rows) >= events.PAGE:
                continue  # catching up: fetch the next page at once
            if time.monotonic() >= next_beat:
                yield ": keep-alive\n" + _sse("heartbeat", {"last_id": last, "time": time.time()})
                next_beat = time.monotonic() + beat
            if _client_gone(sock):
                return
            time.sleep(poll)
    except Exception as exc:
        kind = outage.unavailable(exc)
        if kind is None:
            raise
        outage.noticed(kind, "the live stream")  # ended: the client comes back after retry
    finally:
        end_session()


@bp.get("/events/stream")
@requires(Role.DISPLAY)
def event_stream() -> Any:
    """Server-sent events of the change feed (see the module docstring)."""
    after = _resume_point()
    if after is None:
        return jsonify(
            error={
                "code": "invalid_after",
                "message": "Last-Event-ID and after must be a non-negative whole number.",
            }
        ), 400
    limit = int(current_app.config.get("EVENT_STREAM_SLOTS", STREAM_SLOTS))
    if not _take_slot(limit):
        resp = jsonify(
            error={
                "code": "busy",
                "message": "Too many live streams on this "
                "server process; poll GET /api/events?after=N instead.",
            }
        )
        resp.headers["Retry-After"] = "30"
        return resp, 503
    released = threading.Event()

    def release() -> None:
        if not released.is_set():
            released.set()
            _give_slot()

    try:
        check = _principal_check()
        sock = request.environ.get("gunicorn.socket")
        db.session.remove()  # the login lookup's transaction ends here
        resp = Response(
            stream_with_context(_stream(after, str(current_user.role), check, sock)),
            mimetype="text/event-stream",
        )
    except BaseException:
        release()
        raise
    resp.call_on_close(release)
    resp.headers["Cache-Control"] = "no-cache, no-store"
    resp.headers["X-Accel-Buffering"] = "no"
    return resp
