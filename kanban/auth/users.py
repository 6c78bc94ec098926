"""Users and device tokens (docs/manual/spec.md §7); logging in is in ``logins``."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..core import audit, direct
from ..core.actor import SYSTEM, Actor
from ..core.errors import NotFound, ServiceError
from ..core.tx import begin_write
from ..domain.numbers import whole_number
from ..domain.passwords import HASH_METHOD, password_problem
from ..domain.statuses import TOKEN_ROLES, USER_ROLES, AuditAction, AuditObject, Role
from ..extensions import db
from ..models import DeviceToken, User, utcnow

#: Role rank: a higher role may do everything a lower one may.
RANK = {"display": 0, "operator": 1, "supervisor": 2, "admin": 3}
#: The shortest and longest life a token can be given (it may also live until revoked).
MIN_TOKEN_LIFE, MAX_TOKEN_LIFE = dt.timedelta(days=1), dt.timedelta(days=3650)
TOKEN_PREFIX = "kbt_"  # noqa: S105 (a public marker in front of the token, not a secret)


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


def create_user(
    username: str,
    password: str,
    role: str,
    *,
    actor: Actor | None = None,
    hash_method: str = HASH_METHOD,
) -> User:
    """A new user with a hashed password (``actor``: who created it, for the audit trail;
    the command line and set-up when None; ``hash_method``: the site's, see
    ``domain/passwords.py``)."""
    begin_write()
    username = username.strip()
    if role not in USER_ROLES:
        raise ServiceError("invalid_role", f"Role must be one of: {', '.join(USER_ROLES)}.")
    if not username or len(username) > 64 or not username.isprintable():
        raise ServiceError("invalid_username", "Username must be 1–64 printable characters.")
    _check_password(password, role, username)
    if db.session.scalar(sa.select(User.id).where(User.username == username)):
        raise ServiceError("user_exists", f"User {username!r} exists already.", 409)
    user = User(username=username, role=role)
    user.set_password(password, hash_method)
    db.session.add(user)
    db.session.flush()
    _audit_user(user, AuditAction.CREATED, actor, after={"username": username, "role": role})
    return user


def _check_password(password: str, role: str, username: str) -> None:
    problem = password_problem(password, role, username)
    if problem is not None:
        raise ServiceError("weak_password", problem)


def set_password(
    username: str, password: str, *, actor: Actor | None = None, hash_method: str = HASH_METHOD
) -> User:
    """Change a user's password (it must suit their role; the audit trail records that it
    changed, never the password). Every session of the user ends."""
    begin_write()
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise NotFound("unknown_user", f"No user {username!r}.")
    _check_password(password, user.role, user.username)
    user.set_password(password, hash_method)
    user.session_generation += 1  # whoever had the old password is logged out
    db.session.flush()
    _audit_user(user, AuditAction.PASSWORD_SET, actor)
    return user


def end_sessions(user_id: int) -> User:
    """Log a user out everywhere: every session made so far stops working at its next
    request (logout, "log out everywhere")."""
    begin_write()
    user = _user(user_id)
    user.session_generation += 1
    db.session.flush()
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
            user.session_generation += 1  # switched on again, old sessions stay ended
        user.active = active
        db.session.flush()
        action = AuditAction.REACTIVATED if active else AuditAction.DEACTIVATED
        _audit_user(user, action, actor, {"active": not active}, {"active": active})
    return user


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    name: str,
    role: str,
    expires_in: dt.timedelta | None = None,
    *,
    actor: Actor | None = None,
) -> tuple[DeviceToken, str]:
    """A new device token, valid until revoked or, with ``expires_in``, until then; the
    plain token is returned once and never stored (nor recorded in the audit trail: only
    its name, role, public prefix and expiry)."""
    begin_write()
    if role not in TOKEN_ROLES:
        raise ServiceError("invalid_role", f"Role must be one of: {', '.join(TOKEN_ROLES)}.")
    name = name.strip()
    if not name or len(name) > 64 or not name.isprintable():
        raise ServiceError("invalid_name", "Token name must be 1–64 printable characters.")
    if expires_in is not None and not MIN_TOKEN_LIFE <= expires_in <= MAX_TOKEN_LIFE:
        raise ServiceError("invalid_expiry", "A token expires after 1 to 3650 days, or never.")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = DeviceToken(name=name, role=role, token_hash=_hash(plain), prefix=plain[:10])
    if expires_in is not None:
        token.expires_at = utcnow() + expires_in
    db.session.add(token)
    db.session.flush()
    audit.record(
        AuditObject.TOKEN,
        AuditAction.CREATED,
        actor=actor or SYSTEM,
        object_id=token.id,
        label=name,
        after={
            "name": name,
            "role": role,
            "prefix": token.prefix,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        },
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
).where(
    DeviceToken.token_hash == sa.bindparam("token_hash"),
    DeviceToken.revoked_at.is_(None),
    sa.or_(DeviceToken.expires_at.is_(None), DeviceToken.expires_at > sa.bindparam("now")),
)


def _live(token: DeviceToken | None) -> bool:
    if token is None or token.revoked_at is not None:
        return False
    return token.expires_at is None or token.expires_at > utcnow()


def token_for(plain: str) -> LiveToken | None:
    """The live token matching ``plain``, or None (unknown, revoked or expired)."""
    if not plain or len(plain) > 200:
        return None
    params = {"token_hash": _hash(plain), "now": utcnow()}
    row = direct.one_or_none(_TOKEN_LOOKUP, params)
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
        number = whole_number(token_id)
        if number is None:
            return None
        token_id = number
    token = db.session.get(DeviceToken, token_id)
    if token is None or not _live(token) or token.role != Role.DISPLAY:
        return None
    return token


def token_is_live(token_id: int) -> bool:
    """True while the token exists and is neither revoked nor expired (read afresh)."""
    return _live(db.session.get(DeviceToken, token_id, populate_existing=True))


def session_is_live(user_id: int, generation: int) -> bool:
    """True while the user may log in and has not been logged out since ``generation``
    (read afresh)."""
    user = db.session.get(User, user_id, populate_existing=True)
    return user is not None and user.active and user.session_generation == generation
