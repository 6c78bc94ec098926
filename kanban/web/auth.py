"""Log in and out."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..auth import users as auth_service
from ..domain.statuses import Role
from ..extensions import db
from ..ops.demo import DEMO_LOGINS

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


#: Where a login goes when no particular page was asked for (the site's address is the
#: board): operators to Scan, the page they work on; supervisors and admins to the board.
LANDING = {Role.OPERATOR: "scan.scan_page"}
_SITE_ROOT = {"/", "/?", "/board", "/board?"}


def _safe_next(target: str | None, role: str) -> str:
    landing = url_for(LANDING.get(Role(role), "board.board"))
    if not target or target in _SITE_ROOT:
        return landing
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
        return landing
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The login page; failed attempts are rate-limited per user and address."""
    from flask import current_app

    form = LoginForm()
    if form.validate_on_submit():
        username = form.username.data or ""
        address = request.remote_addr or "?"
        if auth_service.login_blocked(username, address, current_app.config["LOGIN_ATTEMPTS"]):
            flash("Too many failed logins. Wait 15 minutes and try again.", "error")
            return render_template("auth/login.html", form=form), 429
        user = auth_service.authenticate(username, form.password.data or "")
        if user is None:
            auth_service.record_login_failure(username, address)
            db.session.commit()
            flash("Wrong username or password.", "error")
            return render_template("auth/login.html", form=form), 401
        login_user(user)
        db.session.commit()
        return redirect(_safe_next(request.args.get("next"), str(user.role)))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    """Log out (POST with CSRF, so a link on another site cannot log you out)."""
    logout_user()
    return redirect(url_for("auth.login"))


@bp.context_processor
def _demo_logins() -> dict[str, Any]:
    # Only the site `kanban demo` serves shows its logins; a real site never does.
    return {"demo_logins": DEMO_LOGINS if current_app.config.get("DEMO") else []}
