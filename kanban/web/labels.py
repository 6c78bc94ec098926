"""Blueprint ``labels``: choose bins, preview, download PDF/ZPL, print view
(docs/manual/spec.md §5).

Every address is a GET with the selection in the query string (``zone``, ``supplier``,
``state``, ``bins``, ``preset``, ``copies``, ``start``, ``dpi``), so the page's download
links and the print view are plain links that can be bookmarked. Bad input is a 400 (an
HTML page for pages, JSON for files), never a 500.
"""

from __future__ import annotations

import io
import re
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request, send_file, url_for

from ..barcodes.labels import PRESETS, ZPL_DPIS, LabelData
from ..core.errors import ServiceError
from ..domain.statuses import Role
from ..labels import options as label_options
from ..labels import rendering as label_files
from ..labels import selection as label_service
from ..labels.options import RenderOptions
from ..labels.rendering import LabelFile
from ..labels.selection import Selection
from .security import requires

#: Why an operator gets no labels (docs/manual/decisions/labels.md, "Who prints labels").
ONLY_SUPERVISORS_PRINT = (
    "Labels are printed by supervisors and admins: a label decides what every scan of it "
    "books, so new and replacement labels come from whoever looks after the bins. Ask a "
    "supervisor to print the one you need. Until then, type the bin code on the Scan page "
    "to scan a bin whose label is missing or torn."
)

bp = Blueprint("labels", __name__)

#: One PDF or ZPL download at most (about 5 s of rendering); larger runs: `kanban labels`.
MAX_WEB_LABELS = 10_000
#: The print view asks the server for one image per bin; beyond this the PDF is better.
MAX_PRINT_VIEW_LABELS = 1_000
#: Bins listed by code on the labels page (the count covers all of them).
LIST_LIMIT = 200
#: Hand-typed codes travel in the URL: keep it under common request-line limits.
BINS_TEXT_MAX = 3000
_NUMBER = re.compile(r"[0-9]{1,6}")


def _number(name: str) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not _NUMBER.fullmatch(raw):
        raise ServiceError(f"invalid_{name}", f"{name} must be a whole number.")
    return int(raw)


def _read(fmt: str) -> tuple[Selection, RenderOptions]:
    """The selection and options in the query string, validated."""
    args = request.args
    bins = args.get("bins")
    if bins is not None and len(bins) > BINS_TEXT_MAX:
        raise ServiceError(
            "too_many_codes",
            f"Type at most {BINS_TEXT_MAX} characters of "
            "bin codes here; select by zone, supplier or state for more, or use "
            "`kanban labels --bins` on the server.",
        )
    sel = label_service.selection(
        zone=args.get("zone"), supplier=args.get("supplier"), state=args.get("state"), bins=bins
    )
    copies = _number("copies") if fmt in label_options.SHEET_FORMATS else None
    start = _number("start") if fmt == "pdf" else None
    opts = label_options.options(
        fmt,
        preset=args.get("preset"),
        dpi=_number("dpi") if fmt in ("zpl", "png") else None,
        copies=1 if copies is None else copies,
        start=1 if start is None else start,
    )
    return sel, opts


def _query(sel: Selection, opts: RenderOptions) -> dict[str, Any]:
    """The normalised query string of a selection, for links."""
    q: dict[str, Any] = {}
    for key in ("zone", "supplier", "state"):
        if getattr(sel, key):
            q[key] = getattr(sel, key)
    if sel.codes:
        q["bins"] = ",".join(sel.codes)
    q["preset"] = opts.preset
    if opts.copies != 1:
        q["copies"] = opts.copies
    if opts.start != 1:
        q["start"] = opts.start
    return q


def _preview_url(code: str, preset: str) -> str:
    return url_for("labels.preview", code=code, preset=preset)


def _result(sel: Selection, opts: RenderOptions, found: list[LabelData]) -> dict[str, Any]:
    """What the labels page shows for a selection (also its JSON form)."""
    q = _query(sel, opts)
    count = label_options.label_count(len(found), opts)
    urls: dict[str, str] = {}
    notice = ""
    if count <= MAX_WEB_LABELS:
        urls["pdf"] = url_for("labels.pdf", **q)
        zpl_q = {k: v for k, v in q.items() if k != "start"}
        for dpi in ZPL_DPIS:
            urls[f"zpl{dpi}"] = url_for("labels.zpl", **zpl_q, dpi=dpi)
    else:
        notice = (
            f"More than {MAX_WEB_LABELS:,} labels: write them with `kanban labels` on the server."
        )
    if count <= MAX_PRINT_VIEW_LABELS:
        urls["print"] = url_for("labels.print_view", **q)
    elif not notice:
        notice = (
            f"The print view shows at most {MAX_PRINT_VIEW_LABELS:,} labels: "
            "download the PDF instead."
        )
    return {
        "summary": label_options.summary(len(found), opts),
        "labels": count,
        "bins": len(found),
        "pages": label_options.page_count(len(found), opts),
        "preset": opts.preset,
        "selection": sel.describe(),
        "first": {"code": found[0].code, "preview_url": _preview_url(found[0].code, opts.preset)},
        "urls": urls,
        "notice": notice,
        "list": [
            {
                "code": lb.code,
                "item": lb.item_name,
                "zone": lb.zone,
                "png": url_for("labels.bin_png", code=lb.code, preset=opts.preset),
                "svg": url_for("labels.bin_svg", code=lb.code, preset=opts.preset),
            }
            for lb in found[:LIST_LIMIT]
        ],
        "more": max(0, len(found) - LIST_LIMIT),
    }


def _send(f: LabelFile, *, attachment: bool) -> Response:
    resp = send_file(
        io.BytesIO(f.data),
        mimetype=f.mimetype,
        download_name=f.name,
        as_attachment=attachment,
        max_age=0,
    )
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp


def _within_web_limit(found: list[LabelData], opts: RenderOptions, limit: int) -> None:
    count = label_options.label_count(len(found), opts)
    if count > limit:
        raise ServiceError(
            "too_many_labels",
            f"{count:,} labels is more than the {limit:,} "
            "this page makes at once: narrow the selection, download the PDF, "
            "or run `kanban labels` on the server.",
        )


@bp.get("/labels")
@requires(Role.SUPERVISOR, why=ONLY_SUPERVISORS_PRINT)
def page() -> Any:
    """Choose bins and label stock; see the count and a preview before printing."""
    result: dict[str, Any] | None = None
    error = ""
    status = 200
    try:
        sel, opts = _read("pdf")
        result = _result(sel, opts, label_service.select_labels(sel))
    except ServiceError as exc:
        error = exc.message
        # A selection that matches nothing is an answer, not bad input.
        status = 200 if exc.code == "no_bins" else exc.status
    return render_template(
        "labels/labels.html",
        zones=label_service.zone_names(),
        suppliers=label_service.supplier_names(),
        presets=list(PRESETS.values()),
        # The server checks the start position against the chosen preset.
        per_page=max(p.per_page for p in PRESETS.values()),
        form=request.args,
        bins_max=BINS_TEXT_MAX,
        result=result,
        error=error,
    ), status


@bp.get("/labels/summary.json")
@requires(Role.SUPERVISOR, why=ONLY_SUPERVISORS_PRINT)
def summary() -> Any:
    """The labels page's result as JSON: count, pages, preview and links (for live updates)."""
    sel, opts = _read("pdf")
    return jsonify(_result(sel, opts, label_service.select_labels(sel)))


@bp.get("/labels/preview.png")
@requires(Role.SUPERVISOR, why=ONLY_SUPERVISORS_PRINT)
def preview() -> Any:
    """One bin's label as a PNG at the preset's resolution (``code``, ``preset``)."""
    code = request.args.get("code", "").strip()
    if not code:
        raise ServiceError("missing_code", "Give the bin code: ?code=A-01-03.")
    opts = label_options.options("png", preset=request.args.get("preset"))
    return _send(
        label_files.render_label(label_service.label_for_code(code), opts), attachment=False
    )


@bp.get("/labels/labels.pdf")
@requires(Role.SUPERVISOR, why=ONLY_SUPERVISORS_PRINT)
def pdf() -> Any:
    """The selection as a PDF on the preset's sheets (or roll labels)."""
    sel, opts = _read("pdf")
    found = label_service.select_labels(sel)
    _within_web_limit(found, opts, MAX_WEB_LABELS)
    return _send(label_files.render_sheet(found, opts), attachment=True)


@bp.get("/labels/labels.zpl")
@requires(Role.SUPERVISOR, why=ONLY_SUPERVISORS_PRINT)
def zpl() -> Any:
    """The selection as a ZPL job for a Zebra printer (``dpi`` 203 or 300)."""
    sel, opts = _read("zpl")
    found = label_service.select_labels(sel)
    _within_web_limit(found, opts, MAX_WEB_LABELS)
    return _send(label_files.render_sheet(found, opts), attachment=True)


@bp.get("/labels/print")
@requires(Role.SUPERVISOR, why=ONLY_SUPERVISORS_PRINT)
def print_view() -> Any:
    """The selection laid out on pages of the preset's size, for the browser's Print."""
    try:
        sel, opts = _read("pdf")
        found = label_service.select_labels(sel)
        _within_web_limit(found, opts, MAX_PRINT_VIEW_LABELS)
    except ServiceError as exc:
        args: dict[str, Any] = request.args.to_dict()
        back = url_for("labels.page", **args)
        return render_template("labels/error.html", message=exc.message, back_url=back), 400
    codes = [lb.code for lb in found]
    return render_template(
        "labels/print.html",
        preset=PRESETS[opts.preset],
        pages=label_options.sheet_cells(codes, opts),
        images={c: _preview_url(c, opts.preset) for c in codes},
        summary=label_options.summary(len(found), opts),
        back_url=url_for("labels.page", **_query(sel, opts)),
    )


@bp.get("/bins/<path:code>/label.png")
@requires(Role.SUPERVISOR, why=ONLY_SUPERVISORS_PRINT)
def bin_png(code: str) -> Any:
    """One bin's label as PNG (``preset``, ``dpi`` optional)."""
    opts = label_options.options("png", preset=request.args.get("preset"), dpi=_number("dpi"))
    return _send(
        label_files.render_label(label_service.label_for_code(code), opts), attachment=False
    )


@bp.get("/bins/<path:code>/label.svg")
@requires(Role.SUPERVISOR, why=ONLY_SUPERVISORS_PRINT)
def bin_svg(code: str) -> Any:
    """One bin's label as SVG (``preset`` optional)."""
    opts = label_options.options("svg", preset=request.args.get("preset"))
    return _send(
        label_files.render_label(label_service.label_for_code(code), opts), attachment=False
    )
