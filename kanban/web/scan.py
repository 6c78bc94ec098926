"""Blueprint ``scan``: the scan station page, its command sheet and small JSON helpers.

The page (``templates/scan/scan.html`` + ``static/js/scan.js``) applies scans through the
JSON API (``POST /api/scans``, ``POST /api/scans/<id>/undo``, ``POST /api/decode``). What the
JavaScript needs to know — the command barcodes, the words for modes and card states, the
limits — comes from here as data, so no business rule is written twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from markupsafe import Markup

from ..barcodes.commands import command_svg
from ..barcodes.decode import MAX_UPLOAD_BYTES
from ..domain.codes import (
    ANSWERS,
    COMMAND_PREFIX,
    MAX_SCAN_LENGTH,
    MODES,
    Command,
    all_commands,
)
from ..domain.statuses import CommandAction, Role
from ..ops.https import ca_certificate
from ..stock import recent as recent_scans
from ..stock.guards import CONFIRMABLE, lowest_quantity, quantity_rule
from ..stock.scanning import MAX_QUANTITY, SCAN_ID_MAX
from .board import STATE_LOOK
from .security import actor, requires

bp = Blueprint("scan", __name__)

#: A repeated identical scan within this window is ignored (a scanner's double read, a
#: trigger held down, a camera that still sees the label).
DEBOUNCE_MS = 1500
#: Keystrokes closer together than this are a scanner, not a person.
BURST_GAP_MS = 80
#: The Enter/Tab closing a burst may come this much later (some scanners pause before it;
#: no person types three keys within BURST_GAP_MS, so the keys alone tell a scanner).
BURST_END_MS = 500
#: A burst shorter than this (plus Enter/Tab) is not taken for a scan.
BURST_MIN = 3
#: Longest station name (the ledger column is 64 characters).
STATION_MAX = 64
#: The cache that keeps the scan page for a reload without network (static/js/scan-sw.js),
#: named here only: the worker reads it from its own URL, the scan page from its config (to
#: fill the cache on the first visit) and the login page from a data attribute (to empty it).
#: A new name leaves every phone's old copy behind.
SCAN_CACHE = "kanban-scan-v1"

#: The on-phone barcode reader (zxing-cpp as WebAssembly, ``make vendor``), under static/:
#: its module, the module that one imports, and the WebAssembly. The live camera loads them
#: where the browser has no BarcodeDetector; the offline copy keeps all three.
READER_FILES = (
    "vendor/zxing_wasm/reader/index.js",
    "vendor/zxing_wasm/share.js",
    "vendor/zxing_wasm/zxing_reader.wasm",
)

#: Words and icons of the modes: the button, the result banner, the recent list. The icons
#: are plain symbols that common fonts (DejaVu on a Linux station PC) have; the word is
#: always shown beside them.
MODE_LOOK: dict[str, dict[str, str]] = {
    "pull": {"word": "Pull", "done": "Pulled", "icon": "−"},
    "receive": {"word": "Receive", "done": "Received", "icon": "+"},
    "count": {"word": "Count", "done": "Counted", "icon": "#"},
    "undo": {"word": "Undo", "done": "Undone", "icon": "↩"},
}


#: What the commands without a value do, in words.
COMMAND_WORDS: dict[str, str] = {
    CommandAction.UNDO: "Undo my last scan",
    CommandAction.CONFIRM: "Confirm: book it anyway",
    CommandAction.CANCEL: "Cancel: do not book it",
}

#: The command sheet's sections: a title and the actions it prints.
SHEET_SECTIONS: tuple[tuple[str, tuple[CommandAction, ...]], ...] = (
    ("Mode", (CommandAction.MODE,)),
    ("Quantity of the next scan", (CommandAction.QUANTITY,)),
    ("Undo", (CommandAction.UNDO,)),
    ("Answer a question (an unusual quantity, more than ordered)", ANSWERS),
)


def command_label(cmd: Command) -> str:
    """What a command does, in words (printed under its barcode and shown when scanned)."""
    if cmd.action == "mode":
        return f"Mode: {MODE_LOOK[str(cmd.value)]['word']}"
    if cmd.action == "quantity":
        return f"Quantity {cmd.value}"
    return COMMAND_WORDS[cmd.action]


def command_table() -> dict[str, dict[str, Any]]:
    """Every command barcode text -> what it does, for the page's JavaScript."""
    return {
        c.text: {"action": c.action, "value": c.value, "label": command_label(c)}
        for c in all_commands()
    }


def page_config() -> dict[str, Any]:
    """Everything ``scan.js`` needs, passed as JSON in a data attribute."""
    return {
        "user": actor().name,
        "max_length": MAX_SCAN_LENGTH,
        "max_quantity": MAX_QUANTITY,
        "max_upload": MAX_UPLOAD_BYTES,
        "station_max": STATION_MAX,
        "scan_id_max": SCAN_ID_MAX,
        "debounce_ms": DEBOUNCE_MS,
        "burst_gap_ms": BURST_GAP_MS,
        "burst_end_ms": BURST_END_MS,
        "burst_min": BURST_MIN,
        "command_prefix": COMMAND_PREFIX,
        "commands": command_table(),
        # Refusals the page asks about (confirm or cancel) rather than drops.
        "confirmable": list(CONFIRMABLE),
        # The quantity each mode takes and what a refusal says: the server's own rule.
        "quantity_rules": {m: {"low": lowest_quantity(m), "says": quantity_rule(m)} for m in MODES},
        "modes": {m: MODE_LOOK[m] for m in (*MODES, CommandAction.UNDO)},
        "states": STATE_LOOK,
        "undo_minutes": current_app.config["SCAN_UNDO_MINUTES"],
        "cache": SCAN_CACHE,
        "urls": {
            "scans": "/api/scans",
            "decode": "/api/decode",
            "recent": "/scan/recent",
            "worker": url_for("scan.worker", cache=SCAN_CACHE),
            "page": "/scan",
            "resolve": "/api/resolve",
            "reader": {
                "module": url_for("static", filename=READER_FILES[0]),
                "wasm": url_for("static", filename=READER_FILES[2]),
            },
            "offline": [url_for("static", filename=f) for f in READER_FILES],
        },
    }


@bp.get("/scan")
@requires(Role.OPERATOR)
def scan_page() -> Any:
    """The scan station: keyboard wedge, camera, photo, command barcodes, offline queue."""
    has_ca = ca_certificate(current_app.config["INSTANCE_PATH"]) is not None
    return render_template(
        "scan/scan.html",
        config=page_config(),
        modes=MODES,
        mode_look=MODE_LOOK,
        max_length=MAX_SCAN_LENGTH,
        station_max=STATION_MAX,
        max_quantity=MAX_QUANTITY,
        has_ca=has_ca,
    )


@bp.app_context_processor
def _scan_cache() -> dict[str, str]:
    # For the login page, which empties the cache (static/js/login.js).
    return {"scan_cache": SCAN_CACHE}


@bp.get("/scan-sw.js")
@requires(Role.OPERATOR)
def worker() -> Any:
    """The scan page's service worker (``static/js/scan-sw.js``): keeps the page for offline
    reloads. Served from the root so that it may control ``/scan``; never cached by HTTP, so
    that a new version reaches the phones on their next visit. The page registers it as
    ``/scan-sw.js?cache=SCAN_CACHE``: the worker takes its cache's name from its own URL."""
    resp = current_app.send_static_file("js/scan-sw.js")
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/scan/commands")
@requires(Role.OPERATOR)
def command_sheet() -> Any:
    """A printable sheet of command barcodes: mode, quantity 1–10, undo, confirm, cancel."""
    sections = []
    for title, actions in SHEET_SECTIONS:
        found = []
        for cmd in (c for c in all_commands() if c.action in actions):
            # command_svg builds the SVG from numbers and an escaped text only.
            svg = Markup(command_svg(cmd.text))  # noqa: S704
            found.append({"text": cmd.text, "label": command_label(cmd), "svg": svg})
        sections.append({"title": title, "commands": found})
    return render_template("scan/commands.html", sections=sections)


@bp.get("/scan/recent")
@requires(Role.OPERATOR)
def recent() -> Any:
    """``{"scans": [...]}``: this station's recent scans (``?station=NAME``), newest first."""
    station = request.args.get("station", "").strip()
    if len(station) > STATION_MAX or not station.isprintable():
        message = f"A station name is at most {STATION_MAX} printable characters."
        return jsonify(error={"code": "invalid_station", "message": message}), 400
    window = dt.timedelta(minutes=current_app.config["SCAN_UNDO_MINUTES"])
    scans = recent_scans.recent_scans(station or None, actor(station=station), undo_window=window)
    return jsonify(station=station or None, scans=scans)


@bp.get("/scan/ca.crt")
@requires(Role.OPERATOR)
def ca_cert() -> Any:
    """The local CA made by ``kanban serve --https``, for phones to install and trust."""
    data = ca_certificate(current_app.config["INSTANCE_PATH"])
    if data is None:
        return Response(
            "No certificate yet: start the server with `kanban serve --https`.\n",
            status=404,
            mimetype="text/plain",
        )
    return Response(
        data,
        mimetype="application/x-x509-ca-cert",
        headers={"Content-Disposition": 'attachment; filename="kanban-local-ca.crt"'},
    )
