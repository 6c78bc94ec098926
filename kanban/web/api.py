"""The JSON API (docs/manual/spec.md §8.1). Thin: parse, call one service, answer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from ..auth.users import has_role
from ..catalog import views as bins
from ..core import feed as events
from ..core.errors import NotFound, ServiceError
from ..domain.codes import ScanTextError, clean_scan_text, parse_scanned_at
from ..domain.numbers import whole_number
from ..domain.statuses import Mode, RequestStatus, Role, SentVia, Source
from ..extensions import csrf, db
from ..masterdata import bin_records
from ..models import utcnow
from ..purchasing import requests, sending
from ..stock import guards
from ..stock import scanning as stock
from . import settings
from .security import actor, requires

bp = Blueprint("api", __name__, url_prefix="/api")

SCAN_FIELDS = {
    "code",
    "mode",
    "quantity",
    "scan_id",
    "station",
    "source",
    "confirm",
    "scanned_at",
}
SCAN_SOURCES = {Source.USB, Source.CAMERA, Source.PHOTO, Source.API, Source.FORM}


def error(code: str, message: str, status: int = 400) -> tuple[Any, int]:
    """The documented error shape."""
    return jsonify(error={"code": code, "message": message}), status


@bp.before_request
def _credentials_then_csrf() -> Any:
    # Who is asking comes first: a change without credentials is a 401, whatever its CSRF
    # token. Bearer tokens are not sent by browsers on their own, so only cookie sessions
    # need the CSRF header on changes; a request that carried a bearer header but named no
    # live token is anonymous here (security.load_bearer), never its cookie's session.
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if not current_user.is_authenticated:
        return error("unauthorized", "Log in or send a token.", 401)
    if g.get("auth_via_token"):
        return None
    try:
        csrf.protect()
    except CSRFError as exc:
        return error("csrf_failed", exc.description or "CSRF token missing or wrong.", 400)
    return None


def _json_body() -> dict[str, Any]:
    if not request.is_json:
        raise ServiceError(
            "unsupported_media_type", "Send the body as JSON (Content-Type: application/json).", 415
        )
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ServiceError("invalid_json", "The body must be a JSON object.")
    return body


def _text_field(body: dict[str, Any], name: str, limit: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit or not value.isprintable():
        raise ServiceError(
            f"invalid_{name}", f"{name} must be text of at most {limit} printable characters."
        )
    return value.strip() or None


@bp.post("/scans")
@requires(Role.OPERATOR)
def post_scan() -> Any:
    """Apply one scan: pull, receive or count."""
    body = _json_body()
    unknown = set(body) - SCAN_FIELDS
    if unknown:
        return error("unknown_field", f"Unknown field(s): {', '.join(sorted(unknown))[:200]}.")
    if "code" not in body:
        return error("missing_code", "The field 'code' is required.")
    try:
        code = clean_scan_text(body["code"])
    except ScanTextError as exc:
        return error(exc.code, exc.message)
    mode = body.get("mode", Mode.PULL)
    if not isinstance(mode, str):
        return error("invalid_mode", "Mode must be pull, receive or count.")
    quantity = body.get("quantity")
    if quantity is not None and (isinstance(quantity, bool) or not isinstance(quantity, int)):
        return error("invalid_quantity", guards.quantity_rule(mode))
    source = body.get("source", Source.API)
    if not isinstance(source, str) or source not in SCAN_SOURCES:
        return error("invalid_source", f"Source must be one of: {', '.join(sorted(SCAN_SOURCES))}.")
    station = _text_field(body, "station", 64)
    who = actor(station=station, source=source)
    confirm = body.get("confirm", False)
    if not isinstance(confirm, bool):
        return error("invalid_confirm", "confirm must be true or false.")
    try:
        made = body.get("scanned_at")
        scanned_at = None if made is None else parse_scanned_at(made, utcnow())
    except ScanTextError as exc:
        return error(exc.code, exc.message)
    factor = current_app.config["UNUSUAL_FACTOR"]
    try:
        result = stock.record_scan(
            code, mode, quantity, who, body.get("scan_id"), confirm=confirm, factor=factor
        )
    except NotFound as exc:
        return _unknown_code(exc, code)
    # When the scan was made, as the client said (kept by the client, not in the ledger).
    answer = result.as_dict() | {"scanned_at": scanned_at.isoformat() if scanned_at else None}
    return jsonify(answer), (200 if result.replayed else 201)


def _unknown_code(exc: NotFound, code: str) -> Any:
    """The 404 of a scan; for a supervisor who scanned a code that could be a new bin's,
    with ``create_url``: the new-bin form with that code filled in."""
    db.session.rollback()
    body = {"code": exc.code, "message": exc.message}
    new = bin_records.code_for_new_bin(code) if exc.code == "unknown_code" else None
    if new and has_role(str(current_user.role), Role.SUPERVISOR):
        body["create_url"] = url_for("masterdata.new_bin", code=new)
    return jsonify(error=body), exc.status


@bp.post("/scans/<scan_id>/undo")
@requires(Role.OPERATOR)
def undo_scan(scan_id: str) -> Any:
    """Compensate a scan; operators may undo only their own recent scans."""
    own_only = current_user.role == Role.OPERATOR
    window = dt.timedelta(minutes=current_app.config["SCAN_UNDO_MINUTES"])
    result = stock.undo_scan(scan_id, actor(source=Source.API), own_only=own_only, window=window)
    db.session.commit()
    return jsonify(result.as_dict()), (200 if result.replayed else 201)


@bp.get("/bins")
@requires(Role.DISPLAY)
def list_bins() -> Any:
    """Every bin with stock, state and flags."""
    last = events.last_event_id()  # before the bins, as the board does
    overdue = bins.overdue_bin_ids()
    return jsonify(
        bins=[bins.card_dict(v, overdue=v.id in overdue) for v in bins.list_cards()],
        last_event_id=last,
    )


@bp.get("/bins/<path:code>")
@requires(Role.DISPLAY)
def get_bin(code: str) -> Any:
    """One bin."""
    if len(code) > 64:
        return error("unknown_bin", "No bin has this code.", 404)
    b = bins.get_bin(code)
    return jsonify(bins.bin_dict(b, overdue=b.id in bins.overdue_bin_ids([b.id])))


@bp.get("/requests")
@requires(Role.OPERATOR)
def list_requests() -> Any:
    """Supplier requests with lines, optionally filtered by status."""
    status = request.args.get("status")
    if status is not None and status not in tuple(RequestStatus):
        return error("invalid_status", f"status must be one of: {', '.join(tuple(RequestStatus))}.")
    why = has_role(str(current_user.role), Role.SUPERVISOR)  # operators: not the mail server's
    found = requests.list_requests(status)
    return jsonify(requests=[requests.request_dict(r, send_error=why) for r in found])


@bp.post("/requests/<int:request_id>/send")
@requires(Role.SUPERVISOR)
def send_request(request_id: int) -> Any:
    """Send a draft (by email where SMTP is configured, else mark it sent): its cards go
    to ordered. Optional body ``{"via": "email" | "manual"}``."""
    body = request.get_json(silent=True) if request.is_json else None
    if request.is_json and request.content_length and not isinstance(body, dict):
        return error("invalid_json", "The body must be a JSON object (or empty).")
    via = body.get("via") if isinstance(body, dict) else None
    if via not in (None, SentVia.EMAIL, SentVia.MANUAL):
        return error("invalid_via", "via must be email or manual.")
    req = sending.send(request_id, settings.mail(), via=via, actor=actor().name)  # commits
    return jsonify(requests.request_dict(req))


@bp.get("/events")
@requires(Role.DISPLAY)
def list_events() -> Any:
    """The change feed after an id (clients catch up with the last id they saw);
    ``reset: true`` when events after it were pruned."""
    after = whole_number(request.args.get("after", "0"))
    if after is None:
        return error("invalid_after", "after must be a non-negative whole number.")
    if events.pruned_after(after):
        # What the client missed was pruned: it reloads in full (static/js/live.js).
        return jsonify(events=[], last_id=events.last_event_id(), reset=True)
    found = events.events_after(after)
    last = found[-1].id if found else after
    role = str(current_user.role)
    shown = [d for d in (events.event_dict(e, role) for e in found) if d is not None]
    return jsonify(events=shown, last_id=last)


@bp.get("/whoami")
@requires(Role.DISPLAY)
def whoami() -> Any:
    """Who the API thinks you are (handy to test a token)."""
    via = "token" if g.get("auth_via_token") else "session"
    name = getattr(current_user, "username", None) or getattr(current_user, "name", "")
    return jsonify(name=name, role=current_user.role, via=via)
