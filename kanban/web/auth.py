"""Log in and out.

After a successful login the browser gets a signed, long-lived *device cookie*: the
browser's random id and the users who logged in on it. The login limit (``auth.logins``)
lets a known device through while an attacker elsewhere holds the user's name at its limit.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response as BaseResponse
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..auth import logins, users
from ..domain.passwords import password_problem
from ..domain.statuses import Role
from ..extensions import db
from ..models import User
from ..ops.demo import DEMO_LOGINS
from . import settings

bp = Blueprint("auth", __name__)

DEVICE_COOKIE = "kanban_device"
DEVICE_DAYS = 365
#: Users a device remembers (a shared station: the last ones who logged in on it).
DEVICE_USERS = 10


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
    # Browsers read a backslash as "/": "/<backslash>evil.example" would leave the site.
    if parts.scheme or parts.netloc or not target.startswith("/") or "\\" in target:
        return landing
    return target


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="kanban-device")


def _known_device() -> logins.KnownDevice | None:
    """The device cookie, if it is one this site signed."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw or len(raw) > 1000:
        return None
    try:
        data = _signer().loads(raw)
        users = tuple(int(u) for u in data["u"][:DEVICE_USERS])
        return logins.KnownDevice(str(data["d"])[:32], users)
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def _remember_device(resp: BaseResponse, known: logins.KnownDevice | None, user_id: int) -> None:
    device_id = known.device_id if known is not None else logins.new_device_id()
    others = [u for u in (known.user_ids if known is not None else ()) if u != user_id]
    value = _signer().dumps({"d": device_id, "u": [user_id, *others][:DEVICE_USERS]})
    resp.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=DEVICE_DAYS * 86400,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The login page; failed attempts are limited (see ``auth.logins``)."""
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form)
    known = _known_device()
    attempt = logins.start(
        form.username.data or "",
        request.remote_addr or "?",
        known,
        current_app.config["LOGIN_ATTEMPTS"],
    )
    db.session.commit()  # the attempt is counted before the password is looked at
    if attempt is None:
        flash("Too many failed logins. Wait 15 minutes and try again.", "error")
        return render_template("auth/login.html", form=form), 429
    password = form.password.data or ""
    user = logins.finish(attempt, password, settings.password_hash_method())
    db.session.commit()
    if user is None:
        flash("Wrong username or password.", "error")
        return render_template("auth/login.html", form=form), 401
    login_user(user)
    if password_problem(password, user.role, user.username) is not None:
        flash(
            f"Your password no longer meets the rules for a {user.role}: ask an admin to "
            "set you a new one.",
            "error",
        )
    resp = redirect(_safe_next(request.args.get("next"), str(user.role)))
    _remember_device(resp, known, user.id)
    return resp


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    """Log out (POST with CSRF, so a link on another site cannot log you out). A person's
    sessions all end on the server, so a copy of the old cookie opens nothing any more."""
    who = current_user._get_current_object()
    if isinstance(who, User):
        users.end_sessions(who.id)
        db.session.commit()
    logout_user()
    return redirect(url_for("auth.login"))


@bp.context_processor
def _demo_logins() -> dict[str, Any]:
    # Only the site `kanban demo` serves shows its logins; a real site never does.
    return {"demo_logins": DEMO_LOGINS if current_app.config.get("DEMO") else []}
