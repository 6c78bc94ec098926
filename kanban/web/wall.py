"""Wall mode (docs/manual/spec.md §4): the board for a TV, opened with a read-only display link.

``/wall?token=T`` checks that T is a live token of role ``display``, keeps that
display principal in the session (security.py loads it back and drops it the
moment the token is revoked) and redirects to ``/wall`` without the token, so
the secret does not stay in the address bar. A browser where a person is logged in
keeps that person's session: the link never replaces it. A display principal satisfies only
``requires("display")``: it can read the board and the event feed, and every
changing route refuses it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_user

from ..auth import users as auth_service
from ..board import queries as board_service
from ..domain.numbers import whole_number
from ..domain.statuses import Role
from ..extensions import db
from ..models import User
from .security import TokenPrincipal, requires

bp = Blueprint("wall", __name__)

#: Seconds each page of zones stays on screen (``?rotate=``), and its bounds.
ROTATE_DEFAULT, ROTATE_MIN, ROTATE_MAX = 15, 5, 300
#: ``?sort=action``: the cards that need action (replenish, stockout, overdue) first.
SORT_ACTION = "action"
#: Seconds without any message from the server before the screen says "stale".
STALE_AFTER = 15


def _rotate() -> int:
    seconds = whole_number(request.args.get("rotate", ""), max_digits=4)
    if seconds is None:
        return ROTATE_DEFAULT
    return min(max(seconds, ROTATE_MIN), ROTATE_MAX)


@bp.get("/wall")
def wall() -> Any:
    """The wall screen; with ``?token=`` it first signs this browser in as that display."""
    if "token" in request.args:
        return _open_display_link(request.args.get("token", ""))
    return _wall_page()


def _open_display_link(plain: str) -> Any:
    token = auth_service.token_for(plain.strip())
    if token is None or token.role != Role.DISPLAY:
        db.session.rollback()
        return render_template("wall/invalid_link.html"), 403
    auth_service.touch_token(token.id)
    db.session.commit()
    # A person already logged in in this browser stays logged in: the link must not turn
    # their session into a display's (they see the wall as themselves).
    if not isinstance(current_user._get_current_object(), User):
        login_user(TokenPrincipal(token.id, token.name, token.role))
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "token"}
    resp = redirect(url_for("wall.wall", **args))
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


@requires(Role.DISPLAY)
def _wall_page() -> Any:
    filt = board_service.BoardFilter.from_args(request.args)
    data = board_service.load_board(filt, scope_above=current_app.config["BOARD_SCOPE_ABOVE"])
    return render_template(
        "wall/wall.html",
        board=data,
        rotate=_rotate(),
        stale_after=STALE_AFTER,
        action_first=request.args.get("sort") == SORT_ACTION,
    )
