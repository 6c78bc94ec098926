"""Sending supplier requests (DESIGN §2.3)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from ..domain import cards
from ..extensions import db
from ..models import Bin, SupplierRequest, utcnow
from . import ServiceError, events
from .bins import bin_dict
from .cardflow import apply_card_event
from .requests import get_request
from .tx import begin_write


def mark_sent(request_id: int, *, via: str = "manual", actor: str = "") -> SupplierRequest:
    """Freeze a draft as sent: its bins' cards go to ordered (DESIGN §2.2)."""
    begin_write()
    req = get_request(request_id, lock=True)
    if req.status != "draft":
        raise ServiceError("not_draft", f"Request {req.id} is {req.status}, not a draft.", 409)
    lines = [line for line in req.lines if line.status == "open"]
    if not lines:
        raise ServiceError("empty_request", "The request has no open lines to send.", 409)
    # Lock the bins in id order (scans lock a bin first, then the draft).
    bin_ids = sorted(line.bin_id for line in lines)
    db.session.execute(sa.select(Bin.id).where(Bin.id.in_(bin_ids)).with_for_update())
    db.session.refresh(req)
    now = utcnow()
    req.status = "sent"
    req.sent_at = now
    req.sent_via = via
    req.send_error = None
    req.expected_date = (now + dt.timedelta(days=req.supplier.lead_time_days)).date()
    changed = []
    for line in req.lines:
        if line.status != "open":
            continue
        b = line.bin
        apply_card_event(b, cards.CardEvent.SENT, movement_id=None)
        changed.append(b)
    db.session.flush()
    for b in changed:
        events.append("bin.changed", bin_code=b.code, data=bin_dict(b))
    events.append("request.changed", request_id=req.id,
                  data={"status": req.status, "supplier": req.supplier.name, "actor": actor})
    return req
