"""``kanban create-user`` and ``kanban token``: people and devices that may sign in."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import with_appcontext

from .auth import users as auth_service
from .cli_common import cli_actor, fail
from .core.errors import ServiceError
from .domain.statuses import TOKEN_ROLES, USER_ROLES
from .extensions import db


@click.command("create-user")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in USER_ROLES]), required=True)
@click.option(
    "--password",
    envvar="KANBAN_NEW_PASSWORD",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Asked for when not given.",
)
@with_appcontext
def create_user(name: str, role: str, password: str) -> None:
    """Create a user who logs in with a password."""
    try:
        auth_service.create_user(name, password, role, actor=cli_actor())
    except ServiceError as exc:
        fail(exc.message)
    db.session.commit()
    click.echo(f"Created {role} {name}.")


@click.group()
def token() -> None:
    """Device tokens for scanners, integrations and wall screens."""


@token.command("create")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice([r.value for r in TOKEN_ROLES]),
    required=True,
)
@click.option(
    "--expires-days",
    type=click.IntRange(1, 3650),
    default=None,
    help="Stop working after this many days (default: only when revoked).",
)
@with_appcontext
def token_create(name: str, role: str, expires_days: int | None) -> None:
    """Create a token and print it once (only its hash is kept)."""
    expires_in = dt.timedelta(days=expires_days) if expires_days else None
    try:
        tok, plain = auth_service.create_token(name, role, expires_in, actor=cli_actor())
    except ServiceError as exc:
        fail(exc.message)
    db.session.commit()
    click.echo(plain)
    click.echo(f"Token {tok.id} ({name}, {role}) created. It is shown only now.", err=True)


@token.command("list")
@with_appcontext
def token_list() -> None:
    """List tokens (never the secrets)."""
    now = dt.datetime.now(dt.UTC)
    for tok in auth_service.list_tokens():
        state = "revoked" if tok.revoked_at else "active"
        if not tok.revoked_at and tok.expires_at is not None:
            state = "expired" if tok.expires_at <= now else f"active until {tok.expires_at:%F}"
        click.echo(f"{tok.id}\t{tok.name}\t{tok.role}\t{tok.prefix}…\t{state}")


@token.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def token_revoke(token_id: int) -> None:
    """Revoke a token by id: it stops working at once."""
    try:
        auth_service.revoke_token(token_id, actor=cli_actor())
    except ServiceError as exc:
        fail(exc.message)
    db.session.commit()
    click.echo(f"Token {token_id} revoked.")
