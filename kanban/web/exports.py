"""Blueprint ``exports``: the ledger and the supplier requests as CSV over a range of days,
for supervisors; the page also links the bins spreadsheet and the audit trail."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from ..core.errors import ServiceError
from ..domain.statuses import Role
from ..ops import exports
from .downloads import csv_download
from .security import requires

bp = Blueprint("exports", __name__)


@bp.get("/exports")
@requires(Role.SUPERVISOR)
def page() -> Any:
    """Choose the days, then download."""
    try:
        days = exports.Days.from_args(request.args)
    except ServiceError as exc:
        return render_template("exports/exports.html", days=None, error=exc.message), 400
    return render_template("exports/exports.html", days=days, error=None)


@bp.get("/exports/ledger.csv")
@requires(Role.SUPERVISOR)
def ledger() -> Any:
    """Every movement of the days (``from``, ``to``; UTC): what, who, where, from which
    source."""
    days = exports.Days.from_args(request.args)
    return csv_download(
        days.filename("ledger"),
        exports.LEDGER_COLUMNS,
        lambda after: exports.ledger_page(days, after),
    )


@bp.get("/exports/requests.csv")
@requires(Role.SUPERVISOR)
def requests_csv() -> Any:
    """The supplier requests created in the days, one row per line."""
    days = exports.Days.from_args(request.args)
    return csv_download(
        days.filename("requests"),
        exports.REQUEST_COLUMNS,
        lambda after: exports.requests_page(days, after),
    )
