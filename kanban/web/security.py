"""Who is asking: session users, bearer device tokens and role checks (docs/manual/spec.md §7)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, abort, g, jsonify, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_login import current_user

from ..auth import users as auth_service
from ..core.actor import Actor
from ..domain.numbers import whole_number
from ..domain.statuses import Role, Source
from ..extensions import db, login_manager
from ..models import User, utcnow

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class TokenPrincipal:
    """A device token acting as the current user."""

    token_id: int
    name: str
    role: str
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:  # only a display link's principal is kept in a session (wall.py)
        """The session's id of a display link's principal."""
        return f"token:{self.token_id}"


class TokenlessSessions(SecureCookieSessionInterface):
    """Sessions as Flask keeps them, except that a request authenticated by a bearer token
    gets no session cookie: such clients are stateless, and a page they are shown (an error
    page's CSRF token, say) must not leave a cookie that Flask-Login's strong session
    protection would then hold against the token on the next request."""

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        return not g.get("auth_via_token") and super().should_set_cookie(app, session)


@login_manager.user_loader
def _load_user(session_id: str) -> User | TokenPrincipal | None:
    """The principal of a session: ``token:N`` for a wall screen opened with a display link,
    ``<user id>.<session generation>`` for a person (see :meth:`User.get_id`)."""
    if session_id.startswith("token:"):
        # A wall screen opened with a display link; revoking the token ends it at once.
        token = auth_service.live_display_token(session_id[6:])
        return TokenPrincipal(token.id, token.name, token.role) if token is not None else None
    user_part, _, generation_part = session_id.partition(".")
    user_id, generation = whole_number(user_part), whole_number(generation_part)
    if user_id is None or generation is None:
        return None  # a session from before generations, or nonsense: log in again
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.session_generation != generation:
        return None  # logged out, new password, switched off or "log out everywhere"
    return user


def _principal_of_bearer(header: str) -> TokenPrincipal | None:
    if not header.startswith("Bearer "):
        return None
    token = auth_service.token_for(header[7:].strip())
    if token is None:
        return None
    # Last use is shown on the tokens page; once a minute is precise enough.
    if token.last_used_at is None or (utcnow() - token.last_used_at).total_seconds() > 60:
        auth_service.touch_token(token.id)
        db.session.commit()
    return TokenPrincipal(token.id, token.name, token.role)


def load_bearer() -> None:
    """A request with an ``Authorization`` header is whoever that header says, and nobody
    else: a cookie the client also keeps (a wall link it opened, a login) is ignored, and
    a header that names no live token makes the request anonymous (401), never a fall-back
    to the cookie's session, which would then skip the CSRF check meant for cookies."""
    header = request.headers.get("Authorization")
    if header is None:
        return
    principal = _principal_of_bearer(header)
    g.auth_via_token = principal is not None
    # Flask-Login's own slot for the request's principal: current_user reads it.
    g._login_user = principal if principal is not None else login_manager.anonymous_user()


@login_manager.unauthorized_handler
def _unauthorized() -> Any:
    if request.path.startswith("/api/"):
        return jsonify(error={"code": "unauthorized", "message": "Log in or send a token."}), 401
    from flask import redirect, url_for

    return redirect(url_for("auth.login", next=request.full_path))


def role() -> str | None:
    """The current principal's role, or None when nobody is logged in."""
    if not current_user.is_authenticated:
        return None
    return str(current_user.role)


#: Who may open a page that needs a role, as the 403 page says it.
WHO: dict[str, str] = {
    Role.OPERATOR: "operators, supervisors and admins",
    Role.SUPERVISOR: "supervisors and admins",
    Role.ADMIN: "admins",
    Role.DISPLAY: "wall screens",
}


def refusal(needed: str) -> str:
    """Why the current principal may not open a page that needs ``needed``, for the 403 page."""
    name = getattr(current_user, "username", None) or getattr(current_user, "name", "")
    if current_user.role == Role.DISPLAY:
        return (
            f"This page is for {WHO.get(needed, needed)}. {name} is a display link: it "
            "shows the wall screen only."
        )
    return (
        f"This page is for {WHO.get(needed, needed)}; you are logged in as {name} "
        f"({current_user.role}). If you need it, ask a supervisor or your admin."
    )


def requires(needed: str, why: str = "") -> Callable[[F], F]:
    """Allow the view only to principals with at least role ``needed``; others get a 403
    page that says why (``why``, or who the page is for)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not auth_service.has_role(str(current_user.role), needed):
                if request.path.startswith("/api/"):
                    return jsonify(
                        error={"code": "forbidden", "message": f"This needs the {needed} role."}
                    ), 403
                abort(403, description=why or refusal(needed))
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


def actor(station: str | None = None, source: str = Source.API) -> Actor:
    """The current principal as the author of a stock change."""
    if isinstance(current_user._get_current_object(), TokenPrincipal):
        return Actor(
            name=current_user.name, token_id=current_user.token_id, station=station, source=source
        )
    return Actor(
        name=current_user.username, user_id=current_user.id, station=station, source=source
    )
