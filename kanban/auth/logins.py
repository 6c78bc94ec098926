"""Logging in (docs/manual/spec.md §7, issue 15): the limit on failed attempts, known devices, and
the same answer time whether or not the user exists.

The limit counts the attempts of the last 15 minutes in three ways, so that an attacker is
slowed down without locking the victim out:

* per address and username: ``attempts`` (``KANBAN_LOGIN_ATTEMPTS``, 10) — guessing one
  user's password from one place;
* per address: 3 × ``attempts`` — trying many users from one place;
* per username, from devices the user has not logged in on before: 5 × ``attempts`` —
  guessing one user's password from many places.

A **known device** (a browser that logged in as this user before; the web layer keeps a
signed cookie) is not held by the per-address and per-username counts, only by its own:
``attempts`` failures on that device. So a user whose name is under attack still logs in
from their own phone or PC; a new device has to wait.

Check and record are one step: :func:`start` takes a lock (SQLite's write lock, a
PostgreSQL advisory lock), counts, and writes the attempt as failed before the password is
looked at; :func:`finish` checks the password outside the lock and deletes the row when it
was right. So parallel attempts can never all pass the limit, and the slow password hash
does not hold the lock.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from ..core.tx import begin_write, lock_logins
from ..domain.passwords import HASH_METHOD
from ..extensions import db
from ..models import LoginFailure, User, utcnow

LOGIN_WINDOW = dt.timedelta(minutes=15)
#: Failures from one address (any username), as a multiple of the per-user limit.
ADDRESS_FACTOR = 3
#: Failures for one username from unknown devices (any address), as a multiple.
USERNAME_FACTOR = 5
#: Attempts older than this are deleted (nothing counts them any more).
KEEP = dt.timedelta(days=1)
FIELD = 64


@dataclass(frozen=True)
class KnownDevice:
    """A browser that logged in before: its id and the users who logged in on it."""

    device_id: str
    user_ids: tuple[int, ...]


@dataclass(frozen=True)
class Attempt:
    """A login attempt, recorded as failed until its password proves right."""

    failure_id: int
    user_id: int | None
    device_id: str | None  # the known device it counted against, if any


def new_device_id() -> str:
    """A fresh random id for a browser that has just logged in for the first time."""
    return secrets.token_urlsafe(18)[:24]


@functools.cache
def _dummy_hash(method: str) -> str:
    # Checked against when the user does not exist, so that the answer takes as long.
    return generate_password_hash(secrets.token_hex(16), method=method)


def _blocked(username: str, address: str, device_id: str | None, limit: int) -> bool:
    since = utcnow() - LOGIN_WINDOW
    recent = sa.select(LoginFailure).where(LoginFailure.created_at > since).subquery()
    if device_id is not None:
        n = db.session.scalar(
            sa.select(sa.func.count()).select_from(recent).where(recent.c.device == device_id)
        )
        return (n or 0) >= limit

    def count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    pair, here, user = db.session.execute(
        sa.select(
            count(sa.and_(recent.c.address == address, recent.c.username == username)),
            count(recent.c.address == address),
            count(sa.and_(recent.c.username == username, recent.c.device.is_(None))),
        ).where(sa.or_(recent.c.address == address, recent.c.username == username))
    ).one()
    return pair >= limit or here >= ADDRESS_FACTOR * limit or user >= USERNAME_FACTOR * limit


def start(username: str, address: str, device: KnownDevice | None, limit: int) -> Attempt | None:
    """Check the limits and record the attempt, as one step; None when the limit is reached.

    The caller commits before it calls :func:`finish` (that ends the lock)."""
    username, address = username[:FIELD], address[:FIELD]
    begin_write()
    lock_logins()
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.created_at < utcnow() - KEEP))
    user = db.session.scalar(sa.select(User).where(User.username == username))
    known = device is not None and user is not None and user.id in device.user_ids
    device_id = device.device_id if known and device is not None else None
    if _blocked(username, address, device_id, limit):
        return None
    row = LoginFailure(username=username, address=address, device=device_id)
    db.session.add(row)
    db.session.flush()
    return Attempt(row.id, user.id if user is not None else None, device_id)


def finish(attempt: Attempt, password: str, hash_method: str = HASH_METHOD) -> User | None:
    """The active user when ``password`` is theirs (the attempt then no longer counts as a
    failure), else None. Takes as long for an unknown user as for a known one (hashed with
    ``hash_method``, the one the site's passwords are stored with)."""
    user = db.session.get(User, attempt.user_id) if attempt.user_id is not None else None
    if user is None:
        check_password_hash(_dummy_hash(hash_method), password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    begin_write()
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.id == attempt.failure_id))
    return user
