"""Error answers: a page in the site's layout for people, JSON for the API.

403, 404, 500 and the other HTTP errors of a page are shown in ``templates/errors/error.html``
with what went wrong and the way back (where the user came from, and their start page). The
API (``/api/…``), and a client that asks for JSON, get ``{"error": {"code", "message"}}``.
A :class:`~kanban.core.errors.ServiceError` stays JSON too (the labels page and the scan page
fetch such answers), unless a browser navigated to the page.

When the database cannot serve (unreachable, full, read-only: :mod:`kanban.core.outage`),
every request is answered ``503`` with ``Retry-After``: the API with the code
``database_unavailable``, people with ``templates/errors/unavailable.html`` (drawn without
the database). The log gets a line when the outage starts and one when it ends, not a
traceback per request; any other database error is a bug and stays a 500 with its traceback.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, Response, current_app, jsonify, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from ..core import outage
from ..core.errors import ServiceError
from ..domain.statuses import Role
from ..extensions import db

log = logging.getLogger("kanban")

#: The heading of each error page; any other status shows the HTTP name.
TITLES = {
    400: "This request cannot be done",
    403: "Not for your role",
    404: "Not found",
    405: "Not here",
    413: "Too large",
    500: "Something went wrong",
}
#: Said when a 404 or 500 has nothing more specific to say.
DEFAULT_MESSAGES = {
    400: "The request was incomplete or out of date (a form sent twice, or left open too long?). "
    "Go back, reload the page and try again.",
    404: "There is no page at this address. It may have been mistyped, or the bin, request or "
    "supplier it showed is no longer there.",
    500: "The server failed to answer this page. Nothing of this request was saved. Try "
    "again; if it keeps happening, tell your admin (the server log has the details).",
    405: "This address does not take this kind of request.",
    413: "The upload is larger than this site accepts.",
}
#: A page that cannot even be drawn in the layout (the database is down, say).
BARE_PAGE = (
    '<!doctype html><html lang="en"><meta charset="utf-8"><title>Error · Kanban board</title>'
    '<h1>Something went wrong</h1><p>The server failed to answer this page. <a href="/">Go to '
    "the board</a></p></html>"
)


def _wants_json(*, page_by_default: bool) -> bool:
    """Whether to answer in JSON: always on the API; elsewhere by what the client prefers
    (a browser navigating prefers HTML; fetch() asking for JSON gets it)."""
    if request.path.startswith("/api/"):
        return True
    order = ["text/html", "application/json"]
    best = request.accept_mimetypes.best_match(order if page_by_default else order[::-1])
    if best is None:  # no Accept header at all
        return not page_by_default
    return best == "application/json"


def _way_back() -> str | None:
    """Where the user came from, when that is a page of this site (and not this one)."""
    came_from = request.referrer or ""
    parts, here = urlsplit(came_from), urlsplit(request.url)
    if parts.netloc != here.netloc or parts.scheme not in ("http", "https"):
        return None
    if parts.path == here.path or parts.path.startswith("/api/"):
        return None
    return came_from


def _start_page() -> tuple[str, str]:
    """The page to go to from an error: Scan for operators, the wall screen for a display
    link, the board for everyone else."""
    role = getattr(current_user, "role", None)
    if role == Role.OPERATOR:
        return url_for("scan.scan_page"), "Go to Scan"
    if role == Role.DISPLAY:
        return url_for("wall.wall"), "Go to the wall screen"
    return url_for("board.board"), "Go to the board"


def error_page(status: int, message: str = "", title: str = "") -> tuple[str, int]:
    """The error page of ``status`` in the site's layout, with the way back."""
    try:
        start_url, start_label = _start_page()
        html = render_template(
            "errors/error.html",
            status=status,
            title=title or TITLES.get(status, "Error"),
            message=message or DEFAULT_MESSAGES.get(status, ""),
            back_url=_way_back(),
            start_url=start_url,
            start_label=start_label,
        )
    except Exception as exc:  # the layout needs the database (the user); a bare page answers
        if outage.unavailable(exc) is None:
            log.exception("the error page for %s could not be drawn", status)
        _rollback()
        html = BARE_PAGE
    return html, status


#: What a person or an integrator is told while the database cannot serve.
UNAVAILABLE_MESSAGE = (
    "The server cannot reach its database, or cannot save to it (full or read-only), right "
    "now. What you sent may not have been saved: try again in a few seconds. A scan sent "
    "again with the same scan id is counted once."
)


def _rollback() -> None:
    """End the session's transaction; on a connection that is gone there is none to end."""
    with contextlib.suppress(sa.exc.SQLAlchemyError, sqlite3.Error):
        db.session.rollback()


def end_session() -> None:
    """Remove the request's session; when the database went away during the request, its
    connection cannot even roll back, and that is no error of the request (the outage is
    logged where it is met)."""
    try:
        db.session.remove()
    except Exception as exc:
        kind = outage.unavailable(exc)
        if kind is None:
            raise
        outage.noticed(kind, f"{request.method} {request.path}" if request else "a stream")


def unavailable_answer(kind: str, exc: BaseException) -> tuple[Any, int, dict[str, str]]:
    """The 503 of a request refused while the database cannot serve (module docstring)."""
    _rollback()
    outage.drop_stale(db.engine, exc)
    outage.refused(kind, f"{request.method} {request.path}")
    headers = {"Retry-After": str(outage.RETRY_AFTER), "Cache-Control": "no-store"}
    if _wants_json(page_by_default=True):
        body = jsonify(error={"code": "database_unavailable", "message": UNAVAILABLE_MESSAGE})
        return body, 503, headers
    # Straight from the template: render_template would run the context processors, and
    # Flask-Login's looks up the user in the database.
    page = current_app.jinja_env.get_template("errors/unavailable.html")
    html = page.render(message=UNAVAILABLE_MESSAGE, request=request, url_for=url_for)
    return html, 503, headers


def _json_error(code: str, message: str, status: int) -> tuple[Response, int]:
    return jsonify(error={"code": code, "message": message}), status


def error_body(exc: ServiceError) -> dict[str, Any]:
    """The ``error`` of a refusal as the API answers it: code and message, the field of a
    field error, the record's current version in a conflict."""
    body: dict[str, Any] = {"code": exc.code, "message": exc.message}
    body |= {k: exc.details[k] for k in ("field", "version") if k in exc.details}
    more = {k: v for k, v in exc.details.items() if k not in ("field", "version")}
    if more:  # the numbers behind a refusal, e.g. the limits of unusual_quantity
        body["details"] = more
    return body


def install(app: Flask) -> None:
    """Answer refused operations and HTTP errors as a page or as JSON, and a database that
    cannot serve with 503 (module docstring)."""
    with app.app_context():
        outage.install(db.engine)

    @app.errorhandler(sa.exc.DBAPIError)
    @app.errorhandler(sa.exc.TimeoutError)
    @app.errorhandler(sqlite3.Error)
    @app.errorhandler(OSError)  # the files beside an SQLite database (its write lock)
    def _database_error(exc: Exception) -> Any:
        kind = outage.unavailable(exc)
        if kind is None:  # a bug: Flask logs it with its traceback and answers 500
            raise exc
        return unavailable_answer(kind, exc)

    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError) -> Any:
        db.session.rollback()
        if _wants_json(page_by_default=False):
            return jsonify(error=error_body(exc)), exc.status
        return error_page(exc.status, exc.message)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        db.session.rollback()
        status = exc.code or 500
        if _wants_json(page_by_default=True):
            code = (exc.name or "error").lower().replace(" ", "_")
            return _json_error(code, exc.description or exc.name, status)
        if status < 400:  # a redirect raised as an exception (RequestRedirect)
            return exc
        said = (exc.description or "") if _is_ours(exc) else ""
        html, status = error_page(status, said, TITLES.get(status, exc.name))
        allowed = getattr(exc, "valid_methods", None)  # a 405 says what the address takes
        return html, status, {"Allow": ", ".join(allowed)} if allowed else {}


def _is_ours(exc: HTTPException) -> bool:
    """A description we (or Flask-WTF) wrote, ``abort(403, description=…)``, rather than
    Werkzeug's generic one, which speaks of servers and URLs."""
    return bool(exc.description) and exc.description != type(exc).description
