"""Blueprint ``requests``: supplier requests and suppliers (docs/manual/spec.md §2.3).

Operators may look and receive; supervisors edit drafts, send them and switch
a supplier's "send automatically". Refusals come back as a flash message on
the page they were asked from, never as a JSON error.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from ..auth import users as auth_service
from ..core import audit
from ..core.errors import ServiceError
from ..domain import leadtime, names
from ..domain.numbers import whole_number
from ..domain.statuses import AuditObject, RequestStatus, Role, SentVia, Source
from ..extensions import db
from ..models import utcnow
from ..purchasing import autosend, overview, requests, review, sending
from ..purchasing import documents as request_docs
from ..purchasing import suppliers as supplier_service
from ..stock.scanning import MAX_QUANTITY
from . import clock, settings
from .forms import form_int
from .security import actor, requires

bp = Blueprint("requests", __name__)

STATUS_LOOK = {
    "draft": {"word": "Draft", "icon": "✎"},
    "sent": {"word": "Sent", "icon": "✉"},
    "received": {"word": "Received", "icon": "✔"},
    "cancelled": {"word": "Cancelled", "icon": "✖"},
}
LINE_LOOK = {
    "open": {"word": "Open", "icon": "○"},
    "received": {"word": "Received", "icon": "✔"},
    "withdrawn": {"word": "Withdrawn", "icon": "↩"},
    "cancelled": {"word": "Removed", "icon": "✖"},
}
TABS = {
    "draft": "Drafts",
    "sent": "Sent",
    "overdue": "Overdue",
    "received": "Received",
    "cancelled": "Cancelled",
    "all": "All",
}


@bp.app_context_processor
def _look() -> dict[str, Any]:
    return {
        "REQUEST_LOOK": STATUS_LOOK,
        "LINE_LOOK": LINE_LOOK,
        "request_number": requests.request_number,
        "format_days": leadtime.format_days,
        "money": request_docs.money,
        "cost": request_docs.unit_cost_text,
    }


@bp.errorhandler(ServiceError)
def _page_error(exc: ServiceError) -> Any:
    # A page answers with a page (the app-wide handler answers the API in JSON).
    db.session.rollback()
    return render_template("requests/error.html", message=exc.message), exc.status


def _can_change() -> bool:
    return auth_service.has_role(str(current_user.role), Role.SUPERVISOR)


def _back(request_id: int) -> Any:
    return redirect(url_for("requests.detail", request_id=request_id))


def _refused(exc: ServiceError) -> None:
    db.session.rollback()
    hint = exc.details.get("admin_hint")  # the setting to fix: an admin's business only
    is_admin = getattr(current_user, "role", None) == Role.ADMIN
    flash(f"{exc.message} {hint}" if hint and is_admin else exc.message, "error")


def _contact() -> tuple[str, str]:
    name = getattr(current_user, "username", None) or getattr(current_user, "name", "")
    return str(name), str(current_app.config.get("MAIL_FROM") or "")


# ----------------------------------------------------------------------- lists


@bp.get("/requests")
@requires(Role.OPERATOR)
def index() -> Any:
    """Requests by status (tabs) and supplier."""
    tab = request.args.get("status", RequestStatus.DRAFT)
    if tab not in TABS:
        tab = RequestStatus.DRAFT
    supplier_id = request.args.get("supplier", type=int)
    today = utcnow().date()
    if tab == "overdue":
        found = requests.list_requests(supplier_id=supplier_id, overdue_on=today)
    else:
        found = requests.list_requests(None if tab == "all" else tab, supplier_id=supplier_id)
    counts = requests.status_counts()
    counts["overdue"] = requests.overdue_count(today)
    counts["all"] = sum(n for s, n in counts.items() if s in STATUS_LOOK)
    return render_template(
        "requests/list.html",
        tab=tab,
        tabs=TABS,
        counts=counts,
        rows=[overview.summary(r, today) for r in found],
        suppliers=supplier_service.list_suppliers(),
        supplier_id=supplier_id,
        can_change=_can_change(),
    )


@bp.get("/requests/<int:request_id>")
@requires(Role.OPERATOR)
def detail(request_id: int) -> Any:
    """One request: its lines, why each exists, totals; edit, send, receive."""
    req = requests.load_request(request_id)
    today = utcnow().date()
    lines = [row | {"scan_id": uuid.uuid4().hex} for row in overview.line_rows(req)]
    return render_template(
        "requests/detail.html",
        req=req,
        summary=overview.summary(req, today),
        lines=lines,
        can_change=_can_change(),
        email_ready=settings.mail().email_configured,
        unfinished=requests.unfinished_send(req),
        handed_over=req.sent_via == SentVia.HANDED_OVER,
        deliveries=autosend.deliveries_for(req.id),
        max_quantity=MAX_QUANTITY,
        expected_if_sent=overview.expected_if_sent_now(req),
        hidden_send_error=requests.HIDDEN_SEND_ERROR,
    )


# --------------------------------------------------------------------- changes


@bp.post("/requests/<int:request_id>/lines/<int:line_id>/quantity")
@requires(Role.SUPERVISOR)
def set_quantity(request_id: int, line_id: int) -> Any:
    """Change a draft line's quantity."""
    quantity = form_int("quantity", 1, requests.MAX_LINE_QUANTITY)
    if quantity is None:
        flash(f"Quantity must be a whole number from 1 to {requests.MAX_LINE_QUANTITY}.", "error")
        return _back(request_id)
    try:
        line = review.update_line_quantity(request_id, line_id, quantity, actor=_contact()[0])
        code = line.bin.code
        db.session.commit()
    except ServiceError as exc:
        _refused(exc)
        return _back(request_id)
    flash(f"Bin {code}: quantity set to {quantity}.", "ok")
    return _back(request_id)


@bp.post("/requests/<int:request_id>/lines/<int:line_id>/remove")
@requires(Role.SUPERVISOR)
def remove(request_id: int, line_id: int) -> Any:
    """Take a line off a draft (not ordered now; the card waits on hold)."""
    try:
        line = review.remove_line(request_id, line_id, actor=_contact()[0])
        code, status = line.bin.code, line.request.status
        db.session.commit()
    except ServiceError as exc:
        _refused(exc)
        return _back(request_id)
    flash(
        f"Bin {code} removed from the request: its card shows stocked (on hold) until "
        "the next pull or count below its card quantity opens a new line.",
        "ok",
    )
    if status == RequestStatus.CANCELLED:
        return redirect(url_for("requests.index"))
    return _back(request_id)


@bp.post("/requests/<int:request_id>/send")
@requires(Role.SUPERVISOR)
def send(request_id: int) -> Any:
    """Email the draft, or mark it sent after downloading or printing it."""
    via = request.form.get("via")
    if via not in (SentVia.EMAIL, SentVia.MANUAL):
        flash("Choose to send by email or to mark as sent.", "error")
        return _back(request_id)
    line_ids: list[int] | None = None
    if via == SentVia.MANUAL:
        found = (whole_number(v) for v in request.form.getlist("line_id")[:1000])
        line_ids = [n for n in found if n is not None]
    try:
        req = sending.send(
            request_id, settings.mail(), via=via, actor=_contact()[0], line_ids=line_ids or None
        )
        number, email = requests.request_number(req.id), req.supplier.email
    except ServiceError as exc:
        _refused(exc)
        return _back(request_id)
    if via == SentVia.EMAIL:
        flash(f"{number} was emailed to {email}.", "ok")
    else:
        flash(f"{number} is marked as sent.", "ok")
    return _back(request_id)


@bp.post("/requests/<int:request_id>/deliveries/<int:delivery_id>/retry")
@requires(Role.SUPERVISOR)
def retry_delivery(request_id: int, delivery_id: int) -> Any:
    """Email the draft again after automatic sending gave up (through the outbox)."""
    try:
        autosend.retry(request_id, delivery_id, by=_contact()[0])
        db.session.commit()
    except ServiceError as exc:
        _refused(exc)
        return _back(request_id)
    flash("The request will be emailed again in a moment; reload to see how it went.", "ok")
    return _back(request_id)


@bp.post("/requests/<int:request_id>/lines/<int:line_id>/receive")
@requires(Role.OPERATOR)
def receive(request_id: int, line_id: int) -> Any:
    """Receive a quantity on a line; more than is open asks for a confirmation first."""
    quantity = form_int("quantity", 1, MAX_QUANTITY)
    if quantity is None:
        flash(f"Quantity received must be a whole number from 1 to {MAX_QUANTITY}.", "error")
        return _back(request_id)
    scan_id = (request.form.get("scan_id") or "")[:64] or None
    confirm = request.form.get("confirm") == "1"
    try:
        result = review.receive_line(
            request_id,
            line_id,
            quantity,
            actor(source=Source.FORM),
            scan_id=scan_id,
            confirm=confirm,
        )
    except ServiceError as exc:
        db.session.rollback()
        if exc.code == "over_receipt":
            req = requests.load_request(request_id)
            line = next((x for x in req.lines if x.id == line_id), None)
            return render_template(
                "requests/confirm_receipt.html",
                req=req,
                line=line,
                quantity=quantity,
                scan_id=scan_id,
                message=exc.message,
                remaining=exc.details.get("remaining"),
            ), 409
        _refused(exc)
        return _back(request_id)
    b = result.bin
    word = b["state"].capitalize()
    again = " (already booked)" if result.replayed else ""
    flash(
        f"Received {result.quantity} for bin {b['code']}{again}: {b['on_hand']} on hand, "
        f"card {word}.",
        "ok",
    )
    return _back(request_id)


def _download(
    request_id: int, render: Callable[[request_docs.RequestDoc], bytes], ext: str, mimetype: str
) -> Response:
    req = requests.load_request(request_id)
    name, email = _contact()
    doc = requests.request_doc(
        req, contact_name=name, contact_email=email, zone=clock.zone(), site=settings.site()
    )
    inline = request.args.get("inline") == "1" and ext == "pdf"
    disposition = "inline" if inline else "attachment"
    return Response(
        render(doc),
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'{disposition}; filename="{doc.filename_stem}.{ext}"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/requests/<int:request_id>.pdf")
@requires(Role.OPERATOR)
def pdf(request_id: int) -> Response:
    """The request as PDF (``?inline=1`` to open it for printing)."""
    return _download(request_id, request_docs.render_pdf, "pdf", "application/pdf")


@bp.get("/requests/<int:request_id>.csv")
@requires(Role.OPERATOR)
def csv(request_id: int) -> Response:
    """The request as CSV, one row per line."""
    return _download(request_id, request_docs.render_csv, "csv", "text/csv")


# ------------------------------------------------------------------- suppliers


@bp.get("/suppliers")
@requires(Role.OPERATOR)
def suppliers() -> Any:
    """Suppliers with their configured and measured lead times; ``q`` keeps those whose
    name, email or contact holds it (whatever its case)."""
    q = request.args.get("q", "").strip()[:100]
    every = supplier_service.list_suppliers()
    return render_template(
        "suppliers/list.html",
        q=q,
        total=len(every),
        suppliers=[s for s in every if names.matches(q, s.name, s.email, s.contact)],
        stats=supplier_service.supplier_lead_times(),
        open_reqs=overview.open_counts(utcnow().date()),
        can_change=_can_change(),
    )


@bp.get("/suppliers/<int:supplier_id>")
@requires(Role.OPERATOR)
def supplier(supplier_id: int) -> Any:
    """One supplier: lead times per line and overall, open requests, auto-send."""
    sup = supplier_service.get_supplier(supplier_id)
    today = utcnow().date()
    measured = supplier_service.measured_lines([sup.id])
    stats = leadtime.supplier_lead_time(m.times for m in measured)
    open_requests = [
        overview.summary(r, today)
        for r in requests.list_requests(supplier_id=sup.id)
        if r.status in (RequestStatus.DRAFT, RequestStatus.SENT)
    ]
    return render_template(
        "suppliers/detail.html",
        sup=sup,
        stats=stats,
        measured=measured[:100],
        open_requests=open_requests,
        items=supplier_service.supplier_items(sup.id),
        can_change=_can_change(),
        email_ready=settings.mail().email_configured,
        history=audit.history(AuditObject.SUPPLIER, sup.id) if _can_change() else [],
    )


@bp.post("/suppliers/<int:supplier_id>/auto-send")
@requires(Role.SUPERVISOR)
def auto_send(supplier_id: int) -> Any:
    """Switch "send automatically" on or off."""
    on = request.form.get("auto_send") == "1"
    try:
        sup = supplier_service.set_auto_send(supplier_id, on, actor=actor(source=Source.FORM))
        name = sup.name
        db.session.commit()
    except ServiceError as exc:
        _refused(exc)
        return redirect(url_for("requests.suppliers"))
    if on:
        flash(f"{name}: requests are emailed as soon as a line is added.", "ok")
    else:
        flash(f"{name}: requests wait for a supervisor to send them.", "ok")
    return redirect(url_for("requests.supplier", supplier_id=supplier_id))
