"""Admin pages for webhooks (docs/manual/integrators.md "Webhooks"): add an endpoint (its
secret is shown
once), remove one, and each endpoint's delivery log with redelivery. Routes of the
``admin`` blueprint: only admins configure URLs."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..core.errors import ServiceError
from ..domain.statuses import Role, WebhookEvent
from ..extensions import db
from ..models import Webhook
from ..webhooks import endpoints
from .admin import bp
from .security import requires

EVENT_HELP = {
    WebhookEvent.CARD_STATE_CHANGED: "a card turned stocked, replenish or ordered",
    WebhookEvent.REQUEST_SENT: "a supplier request was emailed or marked sent",
    WebhookEvent.REQUEST_RECEIVED: "every line of a sent request was received",
    WebhookEvent.BIN_CHANGED: "anything on a card changed (every scan)",
}


def _who() -> str:
    return str(getattr(current_user, "username", None) or getattr(current_user, "name", ""))


def _list_page(
    *, new: dict[str, Any] | None = None, error: str | None = None, status: int = 200
) -> Any:
    hooks = endpoints.listing()
    body = render_template(
        "admin/webhooks.html",
        hooks=hooks,
        counts=endpoints.counts(h.id for h in hooks),
        unread=endpoints.unread(hooks),
        unread_max=endpoints.UNREAD_MAX,
        events=list(WebhookEvent),
        event_help=EVENT_HELP,
        new=new,
        error=error,
        url=request.form.get("url", "") if error else "",
    )
    return body, status, ({"Cache-Control": "no-store"} if new else {})


@bp.get("/webhooks")
@requires(Role.ADMIN)
def webhooks() -> Any:
    """Every active endpoint and a form for a new one."""
    return _list_page()


@bp.post("/webhooks")
@requires(Role.ADMIN)
def add_webhook() -> Any:
    """Add an endpoint and show its secret once."""
    chosen = request.form.getlist("events")
    if not chosen:
        return _list_page(error="Choose at least one event.", status=400)
    try:
        hook, secret = endpoints.add(request.form.get("url", ""), chosen, by=_who())
    except ServiceError as exc:
        db.session.rollback()
        return _list_page(error=exc.message, status=400)
    db.session.commit()
    new = {"id": hook.id, "url": hook.url, "events": hook.events, "secret": secret}
    return _list_page(new=new, status=201)


@bp.post("/webhooks/<int:webhook_id>/remove")
@requires(Role.ADMIN)
def remove_webhook(webhook_id: int) -> Any:
    """Stop an endpoint at once; what waited for it is skipped, its log stays."""
    try:
        hook = endpoints.remove(webhook_id)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("admin.webhooks"), 303)
    db.session.commit()
    flash(f"Webhook {hook.id} ({hook.url}) removed.", "info")
    return redirect(url_for("admin.webhooks"), 303)


@bp.get("/webhooks/<int:webhook_id>")
@requires(Role.ADMIN)
def webhook_log(webhook_id: int) -> Any:
    """An endpoint's deliveries: each attempt with its status code and response time."""
    hook: Webhook = endpoints.get(webhook_id)
    return render_template(
        "admin/webhook.html", hook=hook, deliveries=endpoints.delivery_log(hook.id)
    )


@bp.post("/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver")
@requires(Role.ADMIN)
def redeliver(webhook_id: int, delivery_id: int) -> Any:
    """Send a delivery again: the same event id and body, due now."""
    try:
        again = endpoints.redeliver(webhook_id, delivery_id, by=_who())
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("admin.webhook_log", webhook_id=webhook_id), 303)
    db.session.commit()
    flash(f"Delivery {delivery_id} will be sent again (delivery {again.id}).", "ok")
    return redirect(url_for("admin.webhook_log", webhook_id=webhook_id), 303)
