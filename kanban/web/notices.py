"""Blueprint ``notices``: what supervisors are told (over-receipts confirmed by operators,
automatic sending stopped or given up), until one of them marks it seen."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth import users as auth_service
from ..core import notices
from ..domain.statuses import DeliveryStatus, NoticeKind, Role, WebhookEvent
from ..extensions import db
from .security import requires

bp = Blueprint("notices", __name__)

NOTICE_LOOK = {
    NoticeKind.OVER_RECEIPT: "⚠ Over-receipt",
    NoticeKind.AUTO_SEND_STOPPED: "⏸ Automatic sending stopped",
    NoticeKind.AUTO_SEND_FAILED: "✖ Automatic email given up",
}


@bp.app_context_processor
def _vocabulary() -> dict[str, Any]:
    def unseen_notices() -> int:
        role = str(getattr(current_user, "role", ""))
        if not current_user.is_authenticated or not auth_service.has_role(role, Role.SUPERVISOR):
            return 0
        return notices.unseen_count()

    return {
        "DeliveryStatus": DeliveryStatus,
        "WebhookEvent": WebhookEvent,
        "NOTICE_LOOK": NOTICE_LOOK,
        "unseen_notices": unseen_notices,
    }


@bp.get("/notices")
@requires(Role.SUPERVISOR)
def index() -> Any:
    """Notices, newest first (``?show=all`` also lists those already seen)."""
    show_all = request.args.get("show") == "all"
    return render_template(
        "notices/list.html",
        notices=notices.listing(unseen_only=not show_all),
        show_all=show_all,
        unseen=notices.unseen_count(),
    )


@bp.post("/notices/seen")
@requires(Role.SUPERVISOR)
def seen() -> Any:
    """Mark one notice (``notice_id``) or every unseen one seen."""
    raw = request.form.get("notice_id", "")
    ids = [int(raw)] if raw.isdigit() else None
    who = getattr(current_user, "username", None) or getattr(current_user, "name", "")
    marked = notices.mark_seen(ids, by=str(who))
    db.session.commit()
    flash(f"{marked} notice{'s' if marked != 1 else ''} marked as seen.", "ok")
    return redirect(url_for("notices.index"), 303)
