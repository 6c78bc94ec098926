"""What the request pages show about requests and their lines: summaries, what is
still to come, line values and lead times, and open requests per supplier."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..domain import leadtime
from ..domain.statuses import LineStatus, RequestStatus
from ..models import SupplierRequest, utcnow
from . import requests


def summary(req: SupplierRequest, today: dt.date) -> dict[str, Any]:
    """A request's number, totals, days overdue and whether an email is on its way."""
    return {
        "req": req,
        "number": requests.request_number(req.id),
        "totals": requests.totals(req),
        "overdue_days": leadtime.days_overdue(req.expected_date, today)
        if req.status == RequestStatus.SENT
        else 0,
        "sending": requests.is_sending(req),
    }


def line_rows(req: SupplierRequest) -> list[dict[str, Any]]:
    """Each line with what is still to come, its value and its measured lead time."""
    sent = req.sent_at if req.status in (RequestStatus.SENT, RequestStatus.RECEIVED) else None
    rows = []
    for line in req.lines:
        received = line.closed_at if line.status == LineStatus.RECEIVED else None
        cost = line.item.unit_cost
        rows.append(
            {
                "line": line,
                "remaining": max(0, line.quantity - line.received_quantity),
                "value": cost * line.quantity if cost is not None else None,
                "times": leadtime.line_lead_time(line.created_at, sent, received),
            }
        )
    return rows


def open_counts(today: dt.date) -> dict[int, dict[str, int]]:
    """Per supplier id: how many requests are drafts, sent, and sent but overdue."""
    counts: dict[int, dict[str, int]] = {}
    for status in (RequestStatus.DRAFT, RequestStatus.SENT):
        for req in requests.list_requests(status):
            c = counts.setdefault(req.supplier_id, {"draft": 0, "sent": 0, "overdue": 0})
            c[req.status] += 1
            if leadtime.is_overdue(req.status, req.expected_date, today):
                c["overdue"] += 1
    return counts


def expected_if_sent_now(req: SupplierRequest) -> dt.date:
    """When the supplier would deliver a draft sent now (its configured lead time)."""
    return leadtime.expected_date(utcnow(), req.supplier.lead_time_days)
