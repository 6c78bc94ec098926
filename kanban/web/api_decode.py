"""``POST /api/decode``: read the barcodes in a photo or a camera frame (docs/manual/spec.md
§3.3, §8.1).

The decoding itself lives in :mod:`kanban.barcodes.decode`, which runs it in worker
processes with a time bound and a fair share per user or device (``decode_busy``, 429, when
one asks for more at once). The pool starts lazily, on the first decode, so it starts in
a gunicorn worker and never in the master before the fork.

Decoding changes nothing: the page submits the code it read to ``POST /api/scans`` as a
second call (source ``camera`` or ``photo``), so that a decoded code goes through exactly the
same path, checks and scan-id idempotency as a typed one.

``GET /api/resolve?code=TEXT`` says, without changing anything, which bin a read code
stands for (docs/manual/spec.md §3.1): the live camera asks it for every new code it sees, so
that a code that is not a bin is shown as such at once, while aiming, instead of being
submitted as a scan (docs/manual/decoding.md, "Feedback while aiming").
"""

from __future__ import annotations

import logging
from typing import Any

from flask import jsonify, request
from flask_login import current_user

from ..barcodes import decode
from ..catalog import views as bins
from ..domain.codes import ScanTextError, clean_scan_text
from ..domain.statuses import Role
from ..extensions import db
from .api import bp, error
from .security import TokenPrincipal, requires

__all__ = ["bp", "log_engines", "resolve_code"]

log = logging.getLogger("kanban")

#: A live camera frame is small and the next frame is the better retry: answer fast.
LIVE_TIMEOUT = 2.0
#: A photo gets the whole pipeline with its rotated/thresholded retries.
PHOTO_TIMEOUT = 6.0


def log_engines() -> None:
    """Log which decoding engines are available (no worker process is started)."""
    log.info("%s", decode.engines_status())


def _owner() -> str:
    """Who asks, for the decoder's fair share: each person and each device token is one."""
    who = current_user._get_current_object()
    if isinstance(who, TokenPrincipal):
        return f"token:{who.token_id}"
    return f"user:{who.id}"


def _is_live() -> bool:
    return request.args.get("live") == "1" or request.form.get("live") == "1"


@bp.post("/decode")
@requires(Role.OPERATOR)
def decode_image() -> Any:
    """Decode every barcode in the multipart field ``image``: ``{"codes": [{text, format}]}``.

    ``?live=1`` (or form field ``live=1``) marks a camera frame: one quick pass, no retries.
    """
    # Nothing here writes: give back any database transaction before the slow part, so
    # that a decode never holds a connection (or SQLite's write lock) while it works.
    db.session.rollback()
    if request.content_type is None or not request.content_type.startswith("multipart/form-data"):
        return error(
            "unsupported_media_type",
            "Send the picture as multipart/form-data in the field 'image'.",
            415,
        )
    upload = request.files.get("image")
    if upload is None:
        return error("missing_image", "Send the picture in the multipart field 'image'.")
    # Werkzeug spooled the part already (bounded by MAX_CONTENT_LENGTH); read one byte more
    # than the decoder accepts so that an oversized picture is told apart from a big one.
    data = upload.stream.read(decode.MAX_UPLOAD_BYTES + 1)
    live = _is_live()
    try:
        codes = decode.decode_bytes(
            data,
            timeout=LIVE_TIMEOUT if live else PHOTO_TIMEOUT,
            thorough=not live,
            owner=_owner(),
        )
    except decode.DecodeError as exc:
        resp, status = error(exc.code, exc.message, exc.http_status)
        if exc.code == "decode_busy":
            resp.headers["Retry-After"] = "1"
        return resp, status
    return jsonify(codes=[{"text": c.text, "format": c.format} for c in codes])


@bp.get("/resolve")
@requires(Role.OPERATOR)
def resolve_code() -> Any:
    """``{"code": TEXT, "bin": BIN_CODE}`` for a code that stands for an active bin.

    A code that does not is answered like a scan of it would be, and nothing changes:
    404 ``unknown_code``, 409 ``inactive_bin`` or ``ambiguous_code``, 400 for text that is
    not a code.
    """
    try:
        code = clean_scan_text(request.args.get("code", ""))
    except ScanTextError as exc:
        return error(exc.code, exc.message)
    card = bins.resolve_card(code)
    return jsonify(code=code, bin=card.code)
