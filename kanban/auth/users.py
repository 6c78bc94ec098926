"""Users, device tokens and login rate limiting (docs/spec.md §7)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..core import audit
from ..core.actor import SYSTEM, Actor
from ..core.errors import NotFound, ServiceError
from ..core.tx import begin_write, conn
from ..domain.statuses import TOKEN_ROLES, USER_ROLES, AuditAction, AuditObject, Role
from ..extensions import db
from ..models import DeviceToken, LoginFailure, User, utcnow

#: Role rank: a higher role may do everything a lower one may.
RANK = {"display": 0, "operator": 1, "supervisor": 2, "admin": 3}
TOKEN_PREFIX = "kbt_"  # noqa: S105 (a public marker in front of the token, not a secret)
LOGIN_WINDOW = dt.timedelta(minutes=15)


def has_role(role: str, needed: str) -> bool:
    """True if ``role`` is at least ``needed``; display only ever satisfies display."""
    if role == Role.DISPLAY:
        return needed == Role.DISPLAY
    return RANK.get(role, -1) >= RANK[needed]


def _audit_user(
    user: User, action: AuditAction, actor: Actor | None, before: Any = None, after: Any = None
) -> None:
    audit.record(
        AuditObject.USER,
        action,
        actor=actor or SYSTEM,
        object_id=user.id,
        label=user.username,
        before=before,
        after=after,
    )


def create_user(username: str, password: str, role: str, *, actor: Actor | None = None) -> User:
    """A new user with a hashed password (``actor``: who created it, for the audit trail;
    the command line and set-up when None)."""
    begin_write()
    username = username.strip()
    if role not in USER_ROLES:
        raise ServiceError("invalid_role", f"Role must be one of: {', '.join(USER_ROLES)}.")
    if not username or len(username) > 64 or not username.isprintable():
        raise ServiceError("invalid_username", "Username must be 1–64 printable characters.")
    if len(password) < 8:
        raise ServiceError("weak_password", "Password must have at least 8 characters.")
    if db.session.scalar(sa.select(User.id).where(User.username == username)):
        raise ServiceError("user_exists", f"User {username!r} exists already.", 409)
    user = User(username=username, role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    _audit_user(user, AuditAction.CREATED, actor, after={"username": username, "role": role})
    return user


def set_password(username: str, password: str, *, actor: Actor | None = None) -> User:
    """Change a user's password (the audit trail records that it changed, never the
    password)."""
    if len(password) < 8:
        raise ServiceError("weak_password", "Password must have at least 8 characters.")
    begin_write()
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise NotFound("unknown_user", f"No user {username!r}.")
    user.set_password(password)
    db.session.flush()
    _audit_user(user, AuditAction.PASSWORD_SET, actor)
    return user


def list_users() -> list[User]:
    """Every user, active ones first, by name."""
    return list(db.session.scalars(sa.select(User).order_by(User.active.desc(), User.username)))


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound("unknown_user", "No such user.")
    return user


def _keep_an_admin(user: User, by_user_id: int) -> None:
    """Refuse a change that would lock the admins out: nobody demotes or deactivates
    themselves, and the last active admin stays one."""
    if user.id == by_user_id:
        raise ServiceError(
            "own_account", "You cannot change your own role or switch yourself off.", 409
        )
    if user.role == Role.ADMIN and user.active:
        admins = db.session.scalar(
            sa.select(sa.func.count(User.id)).where(User.role == Role.ADMIN, User.active)
        )
        if (admins or 0) <= 1:
            raise ServiceError("last_admin", "The last active admin must stay one.", 409)


def set_role(user_id: int, role: str, *, by_user_id: int, actor: Actor | None = None) -> User:
    """Give a user another role; it applies from their next request."""
    if role not in USER_ROLES:
        raise ServiceError("invalid_role", f"Role must be one of: {', '.join(USER_ROLES)}.")
    begin_write()
    user = _user(user_id)
    if user.role != role:
        if user.role == Role.ADMIN:
            _keep_an_admin(user, by_user_id)
        before = user.role
        user.role = role
        db.session.flush()
        _audit_user(user, AuditAction.EDITED, actor, {"role": before}, {"role": role})
    return user


def set_active(user_id: int, active: bool, *, by_user_id: int, actor: Actor | None = None) -> User:
    """Switch a user off (they are logged out at their next request; their scans and
    history stay) or on again."""
    begin_write()
    user = _user(user_id)
    if user.active != active:
        if not active:
            _keep_an_admin(user, by_user_id)
        user.active = active
        db.session.flush()
        action = AuditAction.REACTIVATED if active else AuditAction.DEACTIVATED
        _audit_user(user, action, actor, {"active": not active}, {"active": active})
    return user


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(name: str, role: str, *, actor: Actor | None = None) -> tuple[DeviceToken, str]:
    """A new device token; the plain token is returned once and never stored (nor
    recorded in the audit trail: only its name, role and public prefix)."""
    begin_write()
    if role not in TOKEN_ROLES:
        raise ServiceError("invalid_role", f"Role must be one of: {', '.join(TOKEN_ROLES)}.")
    name = name.strip()
    if not name or len(name) > 64 or not name.isprintable():
        raise ServiceError("invalid_name", "Token name must be 1–64 printable characters.")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = DeviceToken(name=name, role=role, token_hash=_hash(plain), prefix=plain[:10])
    db.session.add(token)
    db.session.flush()
    audit.record(
        AuditObject.TOKEN,
        AuditAction.CREATED,
        actor=actor or SYSTEM,
        object_id=token.id,
        label=name,
        after={"name": name, "role": role, "prefix": token.prefix},
    )
    return token, plain


@dataclass(frozen=True)
class LiveToken:
    """What a request needs to know about the token it carries."""

    id: int
    name: str
    role: str
    last_used_at: dt.datetime | None


# Every API call by a device runs this: one prebuilt Core query, no ORM.
_TOKEN_LOOKUP = sa.select(
    DeviceToken.id, DeviceToken.name, DeviceToken.role, DeviceToken.last_used_at
).where(DeviceToken.token_hash == sa.bindparam("token_hash"), DeviceToken.revoked_at.is_(None))


def token_for(plain: str) -> LiveToken | None:
    """The live token matching ``plain``, or None (unknown or revoked)."""
    if not plain or len(plain) > 200:
        return None
    row = conn().execute(_TOKEN_LOOKUP, {"token_hash": _hash(plain)}).one_or_none()
    return LiveToken(*row) if row is not None else None


def touch_token(token_id: int) -> None:
    """Record that a token was just used (one UPDATE, in a write transaction)."""
    begin_write()
    db.session.execute(
        sa.update(DeviceToken).where(DeviceToken.id == token_id).values(last_used_at=utcnow())
    )


def revoke_token(token_id: int, *, actor: Actor | None = None) -> DeviceToken:
    """Revoke a token: it stops working at once."""
    begin_write()
    token = db.session.get(DeviceToken, token_id)
    if token is None:
        raise NotFound("unknown_token", "No token has this id.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
        audit.record(
            AuditObject.TOKEN,
            AuditAction.REVOKED,
            actor=actor or SYSTEM,
            object_id=token.id,
            label=token.name,
            after={"revoked_at": token.revoked_at},
        )
    return token


def list_tokens() -> list[DeviceToken]:
    """Every token, newest first."""
    return list(db.session.scalars(sa.select(DeviceToken).order_by(DeviceToken.id.desc())))


def live_display_token(token_id: str | int) -> DeviceToken | None:
    """The unrevoked display token with this id, or None (a wall screen's session)."""
    if isinstance(token_id, str):
        if not token_id.isdigit() or len(token_id) > 18:
            return None
        token_id = int(token_id)
    token = db.session.get(DeviceToken, token_id)
    if token is None or token.revoked_at is not None or token.role != Role.DISPLAY:
        return None
    return token


def token_is_live(token_id: int) -> bool:
    """True while the token exists and is not revoked."""
    token = db.session.get(DeviceToken, token_id)
    return token is not None and token.revoked_at is None


def user_is_active(user_id: int) -> bool:
    """True while the user exists and may log in."""
    user = db.session.get(User, user_id)
    return user is not None and user.active


def login_blocked(username: str, address: str, limit: int) -> bool:
    """True when this username or address failed too often recently."""
    since = utcnow() - LOGIN_WINDOW
    count = db.session.scalar(
        sa.select(sa.func.count(LoginFailure.id)).where(
            LoginFailure.created_at > since,
            sa.or_(LoginFailure.username == username[:64], LoginFailure.address == address),
        )
    )
    return (count or 0) >= limit


def record_login_failure(username: str, address: str) -> None:
    """Remember a failed login for rate limiting."""
    begin_write()
    db.session.add(LoginFailure(username=username[:64], address=address[:64]))
    db.session.flush()


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    user = db.session.scalar(sa.select(User).where(User.username == username[:64]))
    if user is None or not user.active or not user.check_password(password):
        return None
    return user
