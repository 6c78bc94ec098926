"""Admin pages: device tokens (DESIGN §7) — create, show once, revoke."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ..extensions import db
from ..models import TOKEN_ROLES
from ..services import ServiceError
from ..services import auth as auth_service
from .security import requires

bp = Blueprint("admin", __name__, url_prefix="/admin")

ROLE_HELP = {
    "display": "Wall screen: reads the board, changes nothing",
    "operator": "Scanner or handheld: scans and undoes its own scans",
    "supervisor": "Integration: also requests, labels and bins",
    "admin": "Full access, including tokens",
}


class TokenForm(FlaskForm):
    """A new token: a name for the device and its role."""

    name = StringField("Name", validators=[DataRequired(), Length(max=64)])
    role = SelectField(
        "Role", choices=[SelectChoice(r, r.capitalize()) for r in TOKEN_ROLES], default="display"
    )


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
    )
    headers = {"Cache-Control": "no-store"} if new else {}
    return body, status, headers


@bp.get("/")
@requires("admin")
def index() -> Any:
    """The admin area starts at the tokens."""
    return redirect(url_for("admin.tokens"))


@bp.get("/tokens")
@requires("admin")
def tokens() -> Any:
    """Every token (never its secret) with a form for a new one."""
    return _page(TokenForm())


@bp.post("/tokens")
@requires("admin")
def create_token() -> Any:
    """Create a token and show it once; a display token also gets its wall link."""
    form = TokenForm()
    if not form.validate_on_submit():
        db.session.rollback()
        return _page(form, status=400)
    try:
        token, plain = auth_service.create_token(form.name.data or "", form.role.data or "")
    except ServiceError as exc:
        db.session.rollback()
        form.name.errors = [*form.name.errors, exc.message]
        return _page(form, status=400)
    db.session.commit()
    new = {"name": token.name, "role": token.role, "token": plain}
    if token.role == "display":
        new["link"] = url_for("wall.wall", token=plain, _external=True)
    return _page(TokenForm(formdata=None), new=new, status=201)


@bp.post("/tokens/<int:token_id>/revoke")
@requires("admin")
def revoke_token(token_id: int) -> Any:
    """Revoke a token: it stops working at once (a wall screen on it goes stale)."""
    if not RevokeForm().validate_on_submit():
        return _page(TokenForm(formdata=None), status=400)
    try:
        token = auth_service.revoke_token(token_id)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("admin.tokens"), 303)
    db.session.commit()
    flash(f"Token {token.name!r} ({token.role}) revoked.", "info")
    return redirect(url_for("admin.tokens"), 303)
