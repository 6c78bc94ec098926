"""Posting one webhook delivery: signed, bounded in time, never following a redirect.

The worker calls :class:`WebhookHandler` with no transaction open. The whole
exchange (connect, send, the answer's status line and first KiB) must end
within the timeout (``KANBAN_WEBHOOK_TIMEOUT``, default 5 s): a timer cuts the
connection at the deadline, so a receiver that answers slowly, or drip by drip,
holds a worker thread for that long at most. Any 2xx is delivered; anything else
(including a redirect, which is not followed) is retried with backoff. While an
endpoint keeps failing, its other deliveries wait too, so a receiver that is
down costs one attempt per backoff step, not one per event.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa

from ..core.outbox import Job, Outcome
from ..core.tx import after_commit
from ..domain import delivery as rules
from ..domain.statuses import DeliveryStatus
from ..extensions import db
from ..models import Delivery, Webhook
from . import events
from .signing import signature

USER_AGENT = "kanban-webhooks/1"
#: How much of an answer is read (and the first 200 characters kept in the log).
READ_MAX = 1024


@dataclass(frozen=True)
class Answer:
    """What came back from a receiver."""

    status: int | None
    duration_ms: int
    error: str | None = None
    location: str | None = None
    excerpt: str = ""


def _cut(conn: http.client.HTTPConnection, cut: threading.Event) -> None:
    cut.set()
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


def _describe(exc: BaseException, timeout: float, cut: bool) -> str:
    if cut or isinstance(exc, TimeoutError):
        return f"No answer within {timeout:g} s."
    if isinstance(exc, ConnectionRefusedError):
        return "The receiver refused the connection."
    if isinstance(exc, http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError):
        return "The receiver closed the connection without answering."
    if isinstance(exc, socket.gaierror):
        return f"The host was not found ({exc})."
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}."
    return f"The request failed: {exc or type(exc).__name__}."


def post(url: str, data: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST ``data`` to ``url``: at most ``timeout`` seconds in all, no redirects."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    cut = threading.Event()
    timer = threading.Timer(timeout, _cut, args=(conn, cut))
    timer.daemon = True
    started = time.monotonic()
    timer.start()
    try:
        conn.request("POST", path, body=data, headers=headers)
        resp = conn.getresponse()
        text = resp.read(READ_MAX).decode("utf-8", "replace")
        ms = int((time.monotonic() - started) * 1000)
        excerpt = " ".join(text.split())[:200]
        return Answer(resp.status, ms, location=resp.getheader("Location"), excerpt=excerpt)
    except (OSError, http.client.HTTPException) as exc:
        ms = int((time.monotonic() - started) * 1000)
        return Answer(None, ms, error=_describe(exc, timeout, cut.is_set()))
    finally:
        timer.cancel()
        conn.close()


def _failure(answer: Answer) -> str:
    if answer.status is None:
        return answer.error or "No answer."
    text = f"The receiver answered {answer.status}."
    if 300 <= answer.status < 400:
        text += f" Redirects are not followed (Location: {(answer.location or '?')[:200]})."
    return text + (f" {answer.excerpt}" if answer.excerpt else "")


class WebhookHandler:
    """Delivers webhook deliveries for the outbox."""

    def __init__(self, timeout: float = 5.0) -> None:
        self.timeout = timeout

    def deliver(self, job: Job, now: dt.datetime) -> Outcome:
        """Post the delivery's body, signed, to its endpoint."""
        hook = db.session.get(Webhook, job.webhook_id) if job.webhook_id else None
        url, secret, active = (hook.url, hook.secret, hook.active) if hook else ("", "", False)
        db.session.rollback()
        if not active:
            return Outcome.skipped("The webhook was removed.")
        data = json.dumps(job.payload.get("body"), separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Kanban-Event": job.event or "",
            "Kanban-Event-Id": job.event_id or "",
            "Kanban-Delivery": str(job.id),
            "Kanban-Signature": signature(secret, int(time.time()), data),
        }
        answer = post(url, data, headers, self.timeout)
        info = {"status_code": answer.status, "duration_ms": answer.duration_ms}
        if answer.status is not None and 200 <= answer.status < 300:
            return Outcome.delivered(**info)
        return Outcome.retry(_failure(answer), **info)

    def finished(
        self,
        job: Job,
        outcome: Outcome,
        status: DeliveryStatus,
        reason: str | None,
        now: dt.datetime,
    ) -> None:
        """Keep the endpoint's run of failures: while it fails, its deliveries wait."""
        if not outcome.attempted or job.webhook_id is None:
            return
        if outcome.status is DeliveryStatus.DELIVERED:
            # The usual case, and for each delivery of a batch: nothing to change while the
            # endpoint is well. (Only the one worker delivering to it changes its failures,
            # so a plain read, often from the session's identity map, is enough to know.)
            seen = db.session.get(Webhook, job.webhook_id)
            if seen is None or (seen.failures == 0 and seen.paused_until is None):
                return
        hook = db.session.get(Webhook, job.webhook_id, with_for_update=True, populate_existing=True)
        if hook is None:
            return
        waiting = sa.update(Delivery).where(
            Delivery.webhook_id == hook.id, Delivery.status == DeliveryStatus.PENDING
        )
        if outcome.status is DeliveryStatus.DELIVERED:
            if hook.paused_until is not None:  # it is back: what waited is due now
                db.session.execute(waiting.where(Delivery.due_at > now).values(due_at=now))
            hook.failures, hook.paused_until = 0, None
        else:
            hook.failures += 1
            hook.paused_until = now + rules.retry_delay(hook.failures)
            # All of them wait until then, this one too: in order, oldest first.
            db.session.execute(waiting.values(due_at=hook.paused_until))
        db.session.flush()
        after_commit(events.forget)  # new deliveries wait with it (or no longer wait)
