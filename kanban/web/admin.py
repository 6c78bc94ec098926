"""Admin pages (docs/manual/spec.md §7): device tokens (create, show once, revoke) and users
(create, role, password, switch off)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ..auth import users as auth_service
from ..core.errors import ServiceError
from ..domain.numbers import whole_number
from ..domain.passwords import min_length
from ..domain.statuses import TOKEN_ROLES, USER_ROLES, Role, Source
from ..extensions import db
from ..models import User, utcnow
from . import settings
from .security import actor, requires

bp = Blueprint(Role.ADMIN, __name__, url_prefix="/admin")

ROLE_HELP = {
    "display": "Wall screen: reads the board, changes nothing",
    "operator": "Scanner or handheld: scans and undoes its own scans",
    "supervisor": "Integration: also requests, labels and bins",
    "admin": "Full access, including tokens",
}


#: When a new token stops working (days; "" for never: a wall screen left on for years).
EXPIRY_CHOICES = [
    SelectChoice("", "Never"),
    SelectChoice("30", "In 30 days"),
    SelectChoice("90", "In 90 days"),
    SelectChoice("365", "In a year"),
]


class TokenForm(FlaskForm):
    """A new token: a name for the device, its role and when it expires."""

    name = StringField("Name", validators=[DataRequired(), Length(max=64)])
    role = SelectField(
        "Role", choices=[SelectChoice(r, r.capitalize()) for r in TOKEN_ROLES], default=Role.DISPLAY
    )
    expires = SelectField("Expires", choices=EXPIRY_CHOICES, default="")


class RevokeForm(FlaskForm):
    """Revoking is a POST with the CSRF token and nothing else."""


def _page(form: TokenForm, *, new: dict[str, str] | None = None, status: int = 200) -> Any:
    body = render_template(
        "admin/tokens.html",
        form=form,
        revoke_form=RevokeForm(),
        tokens=auth_service.list_tokens(),
        new=new,
        role_help=ROLE_HELP,
        now=utcnow(),
    )
    headers = {"Cache-Control": "no-store"} if new else {}
    return body, status, headers


@bp.get("/")
@requires(Role.ADMIN)
def index() -> Any:
    """The admin area starts at the tokens."""
    return redirect(url_for("admin.tokens"))


@bp.get("/tokens")
@requires(Role.ADMIN)
def tokens() -> Any:
    """Every token (never its secret) with a form for a new one."""
    return _page(TokenForm())


@bp.post("/tokens")
@requires(Role.ADMIN)
def create_token() -> Any:
    """Create a token and show it once; a display token also gets its wall link."""
    form = TokenForm()
    if not form.validate_on_submit():
        db.session.rollback()
        return _page(form, status=400)
    days = whole_number(form.expires.data or "")
    expires_in = dt.timedelta(days=days) if days else None
    try:
        token, plain = auth_service.create_token(
            form.name.data or "",
            form.role.data or "",
            expires_in,
            actor=actor(source=Source.FORM),
        )
    except ServiceError as exc:
        db.session.rollback()
        form.name.errors = [*form.name.errors, exc.message]
        return _page(form, status=400)
    db.session.commit()
    new = {"name": token.name, "role": token.role, "token": plain}
    if token.role == Role.DISPLAY:
        new["link"] = url_for("wall.wall", token=plain, _external=True)
    return _page(TokenForm(formdata=None), new=new, status=201)


@bp.post("/tokens/<int:token_id>/revoke")
@requires(Role.ADMIN)
def revoke_token(token_id: int) -> Any:
    """Revoke a token: it stops working at once (a wall screen on it goes stale)."""
    if not RevokeForm().validate_on_submit():
        return _page(TokenForm(formdata=None), status=400)
    try:
        token = auth_service.revoke_token(token_id, actor=actor(source=Source.FORM))
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("admin.tokens"), 303)
    db.session.commit()
    flash(f"Token {token.name!r} ({token.role}) revoked.", "info")
    return redirect(url_for("admin.tokens"), 303)


# ------------------------------------------------------------------------ users

USER_ROLE_HELP = {
    "operator": "Scans, undoes their own scans, sees the board",
    "supervisor": "Also supplier requests, labels, card sizes and the bins spreadsheet",
    "admin": "Everything, including users and device tokens",
}


class UserForm(FlaskForm):
    """A new user: name, role and a first password (they can be given a new one later)."""

    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    role = SelectField(
        "Role", choices=[SelectChoice(r, r.capitalize()) for r in USER_ROLES], default=Role.OPERATOR
    )
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


def _me() -> int:
    """The acting admin's user id (-1 for an admin device token)."""
    user = current_user._get_current_object()
    return user.id if isinstance(user, User) else -1


def _users_page(form: UserForm, status: int = 200) -> Any:
    return (
        render_template(
            "admin/users.html",
            form=form,
            users=auth_service.list_users(),
            roles=USER_ROLES,
            role_help=USER_ROLE_HELP,
            me=_me(),
            min_length={r.value: min_length(r) for r in USER_ROLES},
        ),
        status,
    )


def _back_to_users(message: str, category: str = "info") -> Any:
    flash(message, category)
    return redirect(url_for("admin.users"), 303)


@bp.get("/users")
@requires(Role.ADMIN)
def users() -> Any:
    """Every user with their role and status, and a form for a new one."""
    return _users_page(UserForm())


@bp.post("/users")
@requires(Role.ADMIN)
def create_user() -> Any:
    """Create a user; they log in with the password given here."""
    form = UserForm()
    if not form.validate_on_submit():
        db.session.rollback()
        return _users_page(form, 400)
    try:
        user = auth_service.create_user(
            form.username.data or "",
            form.password.data or "",
            form.role.data or "",
            actor=actor(source=Source.FORM),
            hash_method=settings.password_hash_method(),
        )
    except ServiceError as exc:
        db.session.rollback()
        form.username.errors = [*form.username.errors, exc.message]
        return _users_page(form, 400)
    db.session.commit()
    return _back_to_users(f"User {user.username!r} ({user.role}) created.")


def _change(user_id: int, change: Callable[[], User], done: str) -> Any:
    """Run one change to a user (CSRF already checked) and go back to the list."""
    try:
        user = change()
    except ServiceError as exc:
        db.session.rollback()
        return _back_to_users(exc.message, "error")
    db.session.commit()
    return _back_to_users(done.format(name=user.username, role=user.role))


@bp.post("/users/<int:user_id>/role")
@requires(Role.ADMIN)
def set_role(user_id: int) -> Any:
    """Give a user another role."""
    role = request.form.get("role", "")
    return _change(
        user_id,
        lambda: auth_service.set_role(
            user_id, role, by_user_id=_me(), actor=actor(source=Source.FORM)
        ),
        "{name!r} is now {role}.",
    )


@bp.post("/users/<int:user_id>/password")
@requires(Role.ADMIN)
def set_password(user_id: int) -> Any:
    """Give a user a new password (they are not told: tell them)."""
    password = request.form.get("password", "")
    user = db.session.get(User, user_id)
    if user is None:
        return _back_to_users("No such user.", "error")
    if len(password) > 256:
        return _back_to_users("Password must have at most 256 characters.", "error")
    name = user.username
    resp = _change(
        user_id,
        lambda: auth_service.set_password(
            name,
            password,
            actor=actor(source=Source.FORM),
            hash_method=settings.password_hash_method(),
        ),
        "New password set for {name!r}; their sessions have ended.",
    )
    _stay_logged_in(user_id)
    return resp


def _stay_logged_in(user_id: int) -> None:
    """After ending an admin's own sessions, keep the one they are using."""
    if user_id == _me():
        db.session.rollback()
        me = db.session.get(User, user_id)
        if me is not None:
            login_user(me)


@bp.post("/users/<int:user_id>/logout")
@requires(Role.ADMIN)
def end_sessions(user_id: int) -> Any:
    """Log a user out everywhere (an admin's own: everywhere but here)."""
    resp = _change(
        user_id,
        lambda: auth_service.end_sessions(user_id),
        "Every session of {name!r} has ended.",
    )
    _stay_logged_in(user_id)
    return resp


@bp.post("/users/<int:user_id>/active")
@requires(Role.ADMIN)
def set_active(user_id: int) -> Any:
    """Switch a user off (logged out at once; their history stays) or on again."""
    active = request.form.get("active") == "1"
    return _change(
        user_id,
        lambda: auth_service.set_active(
            user_id, active, by_user_id=_me(), actor=actor(source=Source.FORM)
        ),
        "{name!r} can log in again." if active else "{name!r} is switched off.",
    )
