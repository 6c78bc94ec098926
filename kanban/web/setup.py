"""The application factory's body: config, extensions, blueprints, headers."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, g, request

from .. import config, paths
from ..core import feed
from ..core.tx import install_sqlite_hooks
from ..extensions import csrf, db, login_manager, migrate
from ..purchasing import autosend
from ..version import version
from ..webhooks import events as webhook_events
from . import (  # noqa: F401 (api_* modules add routes to api.bp, admin_* to admin.bp,
    # masterdata_bins to masterdata.bp)
    admin,
    admin_webhooks,
    api,
    api_decode,
    api_health,
    api_masterdata,
    api_stream,
    audit,
    auth,
    board,
    clock,
    errors,
    exports,
    labels,
    masterdata,
    masterdata_bins,
    notices,
    requests_pages,
    scan,
    security,
    spreadsheet,
    vocab,
    wall,
)
from .proxies import TrustedProxies, parse_networks
from .security import load_bearer
from .wsgi import IdConverter, KanbanRequest

log = logging.getLogger("kanban")
BLUEPRINTS = (
    auth,
    api,
    board,
    scan,
    wall,
    labels,
    requests_pages,
    spreadsheet,
    admin,
    masterdata,
    audit,
    exports,
    notices,
)

#: How long browsers keep to HTTPS for this host once they saw it over a trusted connection
#: (180 days; no includeSubDomains: other hosts of the site's domain are not ours).
HSTS_SECONDS = 180 * 24 * 3600

# 'wasm-unsafe-eval' lets the scan page compile its own WebAssembly barcode reader
# (static/vendor/zxing_wasm, served from 'self'); it allows no eval() of JavaScript.
CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    "img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def _follow_changes() -> None:
    """Connect what follows a card change (docs/manual/architecture.md, "Who follows a change")."""
    feed.install()  # every card change writes its bin.changed event
    # Deliveries are written to the outbox in the change's transaction and
    # delivered by the outbox worker (kanban serve, kanban worker).
    autosend.install()  # a line opened for an auto-send supplier: an email
    webhook_events.install()  # a subscribed change: one delivery per webhook


def build(overrides: dict[str, Any] | None = None) -> Flask:
    """Create and configure the Flask app."""
    cfg = config.load(overrides)
    app = Flask(
        "kanban",
        template_folder=str(paths.TEMPLATES),
        static_folder=str(paths.STATIC),
        static_url_path="/static",
        instance_path=cfg["INSTANCE_PATH"],
        instance_relative_config=False,
    )
    app.config.update(cfg)
    app.jinja_env.globals["kanban_version"] = version()  # the admin pages' footer
    app.request_class = KanbanRequest
    app.url_map.converters["int"] = IdConverter  # before any route is added
    # X-Forwarded-* only from the configured reverse proxies (the login limit counts the
    # client's address, which a client must not be able to choose).
    app.wsgi_app = TrustedProxies(  # type: ignore[method-assign]
        app.wsgi_app, parse_networks(cfg["TRUSTED_PROXIES"])
    )
    app.session_interface = security.TokenlessSessions()

    db.init_app(app)
    migrate.init_app(app, db, directory=str(paths.MIGRATIONS), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    app.before_request(load_bearer)  # an Authorization header decides who is asking

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            install_sqlite_hooks(db.engine)

    for module in BLUEPRINTS:
        app.register_blueprint(module.bp)
    vocab.init_app(app)  # the enums for templates and the page's vocabulary block
    clock.init_app(app)  # the site's time zone for templates and the page's clock block
    csrf.exempt(api.bp)  # the API checks CSRF itself for cookie sessions (see api.py)
    api_decode.log_engines()  # which barcode decoders this process has (starts no worker)

    _follow_changes()

    _install_handlers(app)
    return app


def _install_handlers(app: Flask) -> None:
    """Security headers on every answer; error pages (JSON on the API); one session a
    request."""

    @app.after_request
    def _headers(resp: Response) -> Response:
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("Permissions-Policy", "camera=(self), microphone=()")
        who = g.get("_login_user")  # only set when the view asked who is logged in
        # (Not on a 503: the database may be gone, and with it the user's attributes.)
        if who is not None and resp.status_code != 503 and who.is_authenticated:
            # What a logged-in person saw must not stay in a shared browser's cache.
            resp.headers.setdefault("Cache-Control", "no-store")
            resp.vary.add("Cookie")
        if request.is_secure:
            resp.headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_SECONDS}")
        return resp

    errors.install(app)

    @app.teardown_appcontext
    def _teardown(_exc: BaseException | None) -> None:
        errors.end_session()  # (quietly when the database went away meanwhile)


def ping_database(app: Flask) -> None:
    """Fail fast with a clear message when the database cannot be reached."""
    with app.app_context():
        db.session.execute(sa.text("SELECT 1"))
        db.session.rollback()
