"""Blueprint ``spreadsheet``: the bins spreadsheet on the web (docs/manual/spec.md §8.3), for
supervisors.

Download every bin as CSV; upload a CSV to see, row by row, what it would change (nothing is
written), then import it in one click. The import is the same all-or-nothing service as
``kanban import``: a bad row is reported with its line number and nothing is written.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from ..domain.statuses import Role, Source
from ..extensions import db
from ..masterdata import imports
from .security import actor, requires

bp = Blueprint("spreadsheet", __name__)

#: Rows and errors a preview lists (the counts always cover the whole file).
PREVIEW_ROWS = 500
PREVIEW_ERRORS = 200


def _page(status: int = 200, **context: Any) -> Any:
    context.setdefault("report", None)
    return (
        render_template(
            "bins/spreadsheet.html",
            columns=imports.COLUMNS,
            required=imports.REQUIRED,
            max_mib=imports.MAX_BYTES // (1024 * 1024),
            max_rows=imports.MAX_ROWS,
            preview_rows=PREVIEW_ROWS,
            preview_errors=PREVIEW_ERRORS,
            **context,
        ),
        status,
    )


@bp.get("/bins/spreadsheet")
@requires(Role.SUPERVISOR)
def page() -> Any:
    """Download and upload the bins spreadsheet."""
    return _page()


@bp.get("/bins/export.csv")
@requires(Role.SUPERVISOR)
def export() -> Any:
    """Every bin as the spreadsheet, ready to edit and import again."""
    name = f"kanban-bins-{dt.datetime.now(dt.UTC).date().isoformat()}.csv"
    return Response(
        imports.export_bins(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.post("/bins/spreadsheet")
@requires(Role.SUPERVISOR)
def upload() -> Any:
    """``action=preview`` with a file: what it would change. ``action=import`` with the
    previewed text: write it, all or nothing."""
    action = request.form.get("action")
    if action == "preview":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash("Choose a CSV file first.", "error")
            return _page(400)
        data = upload.read(imports.MAX_BYTES + 1)
        report = imports.import_bins(data, dry_run=True, actor=actor(source=Source.IMPORT))
        db.session.rollback()
        if not report.ok:
            return _page(400, report=report, filename=upload.filename)
        return _page(
            report=report,
            filename=upload.filename,
            changes=report.changes,
            text=data.decode("utf-8-sig"),
        )
    if action == "import":
        report = imports.import_bins(
            request.form.get("csv", ""), dry_run=False, actor=actor(source=Source.IMPORT)
        )
        if not report.ok:
            db.session.rollback()
            return _page(400, report=report, filename=request.form.get("filename", ""))
        db.session.commit()
        flash(f"Imported {len(report.rows)} rows: {report.summary}.", "ok")
        return redirect(url_for("spreadsheet.page"))
    flash("Unknown action.", "error")
    return _page(400)
