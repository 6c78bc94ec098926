"""Sending automatically (docs/spec.md §2.3): when a line opens on the draft of a supplier
that sends automatically, the draft goes out by email.

It listens to :data:`kanban.core.signals.card_changed` (a change that opened a
line) and :data:`kanban.core.signals.lines_waiting` (lines a send left on a new
draft); :func:`install`, called by ``create_app``, connects it for one app.
Nothing is sent before the change commits, and a scan never waits for, or
fails because of, the mail server: the send runs in a background thread after
the commit. A send that cannot happen leaves the reason on the draft
(``send_error``) for a person to retry.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

import sqlalchemy as sa
from flask import Flask

from ..core import signals
from ..core.errors import ServiceError
from ..core.tx import after_commit, begin_write
from ..domain import clock
from ..domain.statuses import RequestStatus
from ..extensions import db
from ..models import Item, RequestLine, Supplier, SupplierRequest, utcnow
from . import requests
from .sending import AUTO_ACTOR, MailSettings, send_by_email

log = logging.getLogger("kanban.sending")

_threads: set[threading.Thread] = set()
_threads_guard = threading.Lock()

#: ServiceError codes of a send that cannot happen until a person fixes something.
_NEEDS_A_PERSON = ("smtp_not_configured", "smtp_misconfigured", "no_supplier_email")


def _record_error(request_id: int, reason: str, zone: dt.tzinfo) -> None:
    begin_write()
    req = requests.get_request(request_id, lock=True)
    if req.status == RequestStatus.DRAFT:
        req.send_error = f"{clock.local_text(utcnow(), zone)} · {reason}"[:2000]
        db.session.flush()
        requests.announce(req, send_error=req.send_error)


def auto_send_draft(supplier_id: int, settings: MailSettings) -> SupplierRequest | None:
    """Email the supplier's draft now if the supplier sends automatically.

    Never raises for a send that cannot happen: the reason is recorded on the
    draft (``send_error``), which stays a draft for a person to retry.
    """
    draft_id = db.session.scalar(
        sa.select(SupplierRequest.id)
        .join(Supplier)
        .where(
            SupplierRequest.supplier_id == supplier_id,
            SupplierRequest.status == RequestStatus.DRAFT,
            Supplier.auto_send.is_(True),
        )
    )
    db.session.rollback()  # end the read; sending opens its own transactions
    if draft_id is None:
        return None
    try:
        if not settings.email_configured:
            raise ServiceError(
                "smtp_not_configured",
                "Sending automatically needs email, which is not set up: ask your admin. "
                "Meanwhile send it from this page or mark it sent.",
                409,
            )
        return send_by_email(draft_id, settings, actor=AUTO_ACTOR)
    except ServiceError as exc:
        db.session.rollback()
        if exc.code in _NEEDS_A_PERSON:
            _record_error(draft_id, exc.message, settings.zone)
            db.session.commit()
        # send_failed is recorded already; the other refusals mean someone else
        # sent, is sending or emptied the draft.
        return None


def _job(app: Flask, supplier_id: int) -> None:
    try:
        with app.app_context():
            auto_send_draft(supplier_id, MailSettings.from_config(app.config))
    except Exception:  # a background thread has nobody to tell but the log
        log.exception("sending automatically to supplier %s failed", supplier_id)
    finally:
        with _threads_guard:
            _threads.discard(threading.current_thread())


def start(app: Flask, supplier_id: int) -> None:
    """Send the supplier's draft in a background thread (after the commit)."""
    thread = threading.Thread(
        target=_job, args=(app, supplier_id), daemon=True, name=f"auto-send-{supplier_id}"
    )
    with _threads_guard:
        _threads.add(thread)
    thread.start()


_AUTO_SUPPLIER_OF_LINE = (
    sa.select(Supplier.id)
    .join(Item, Item.supplier_id == Supplier.id)
    .join(RequestLine, RequestLine.item_id == Item.id)
    .where(RequestLine.id == sa.bindparam("line_id"), Supplier.auto_send.is_(True))
)


def install(app: Flask) -> None:
    """Send automatically for this app's card changes (called by ``create_app``).

    The listeners live as long as the app (blinker holds them weakly); the
    sender filter keeps each app to the changes written to its own database.
    """
    with app.app_context():
        engine = db.engine

    def send_later(supplier_id: int) -> None:
        after_commit(lambda: start(app, supplier_id))

    def on_card_changed(_sender: Any, change: Any) -> None:
        if change.opened_line_id is None:
            return
        found = db.session.scalar(_AUTO_SUPPLIER_OF_LINE, {"line_id": change.opened_line_id})
        if found is not None:
            send_later(found)

    def on_lines_waiting(_sender: Any, supplier_id: int) -> None:
        auto = db.session.scalar(sa.select(Supplier.auto_send).where(Supplier.id == supplier_id))
        if auto:
            send_later(supplier_id)

    app.extensions["kanban.autosend"] = (on_card_changed, on_lines_waiting)
    signals.card_changed.connect(on_card_changed, sender=engine)
    signals.lines_waiting.connect(on_lines_waiting, sender=engine)


def wait_for_background(timeout: float = 30.0) -> bool:
    """Wait until background sends have finished (for tests and shutdown)."""
    deadline = utcnow() + dt.timedelta(seconds=timeout)
    while True:
        with _threads_guard:
            pending = list(_threads)
        if not pending:
            return True
        for thread in pending:
            left = (deadline - utcnow()).total_seconds()
            if left <= 0:
                return False
            thread.join(left)
