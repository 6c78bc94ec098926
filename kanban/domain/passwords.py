"""What makes a password acceptable (docs/manual/spec.md §7, issue 15).

* Long enough for the role: supervisors and admins change requests, users and tokens, so
  their passwords are at least 12 characters; operators' at least 8.
* Not common: not one of the most common passwords (``common_passwords.txt``, shipped in the
  package), nor one of them followed only by digits and punctuation ("password2024!"), nor
  the username, nor fewer than four different characters ("aaaaaaaaaaaa", "abababababab").
"""

from __future__ import annotations

import functools
from importlib import resources

from .statuses import Role

#: How a password is hashed at rest (werkzeug's default: scrypt, n=2**15, r=8, p=1). The app's
#: ``PASSWORD_HASH_METHOD`` (not a setting) is handed to the auth package by the web layer;
#: only the test suite lowers it (docs/manual/decisions.md, Fast feedback).
HASH_METHOD = "scrypt:32768:8:1"  # noqa: S105 (a method, not a password)

#: Shortest password per role.
MIN_LENGTH = {Role.OPERATOR: 8, Role.SUPERVISOR: 12, Role.ADMIN: 12}
MAX_LENGTH = 256
#: Fewest different characters in a password.
MIN_DISTINCT = 4
_TAIL = "0123456789!?.,;:-_+*#@$%&/()[]{}=~^'\" "


@functools.cache
def common_passwords() -> frozenset[str]:
    """The built-in list of common passwords (lower-case)."""
    text = resources.files(__package__).joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def min_length(role: str) -> int:
    """The shortest password a user of ``role`` may have."""
    return MIN_LENGTH.get(role, max(MIN_LENGTH.values()))  # type: ignore[call-overload]


def password_problem(password: str, role: str, username: str = "") -> str | None:
    """Why ``password`` cannot be used by ``username`` with ``role``, or None if it can."""
    shortest = min_length(role)
    if len(password) < shortest:
        return f"Passwords of {role}s must have at least {shortest} characters."
    if len(password) > MAX_LENGTH:
        return f"A password must have at most {MAX_LENGTH} characters."
    low = password.lower()
    common = common_passwords()
    if low in common or low.rstrip(_TAIL) in common:
        return "This password is one of the most common ones: choose another."
    if username and low.rstrip(_TAIL) == username.strip().lower():
        return "The password must not be the username."
    if len(set(low)) < MIN_DISTINCT:
        return f"A password needs at least {MIN_DISTINCT} different characters."
    return None
