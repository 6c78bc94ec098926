"""The access log of ``kanban serve`` (``KANBAN_ACCESS_LOG``), without secrets.

Tokens travel in ``/wall?token=…`` links and ``Authorization`` headers, sessions in
cookies. gunicorn's access log would write the first into every line and, with a custom
``access_log_format``, the others too. :class:`RedactingLogger` hands gunicorn the same
values with those secrets replaced by ``[redacted]``: query parameters named like a secret
in the request line, the query string, the path and the referrer, and the ``Authorization``
and ``Cookie`` headers (and ``Set-Cookie`` in the answer) entirely.
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

REDACTED = "[redacted]"
#: Query parameters whose values are secrets.
_SECRET_PARAM = re.compile(
    r"(?i)((?:^|[?&;]|%3F|%26)(?:token|access_token|api_key|key|password|secret)(?:=|%3D))"
    r"[^&;\s\"#]*"
)
#: Headers (as gunicorn names their atoms, lower-case) that are secret as a whole.
_SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie", "set-cookie", "x-csrftoken")


def redact(text: str) -> str:
    """``text`` (a URL, a query string, a request line) with secret parameters' values
    replaced."""
    return _SECRET_PARAM.sub(lambda m: m.group(1) + REDACTED, text)


_ATOM = re.compile(r"^\{(.+)\}([ioe])$")


def _secret_atom(key: str) -> bool:
    found = _ATOM.match(key)
    if found is None:
        return False
    name, kind = found.group(1).lower(), found.group(2)
    if kind == "e":  # environ: HTTP_AUTHORIZATION, HTTP_COOKIE …
        name = name.removeprefix("http_").replace("_", "-")
    return name in _SECRET_HEADERS


def redact_atoms(atoms: dict[str, Any]) -> dict[str, Any]:
    """gunicorn's log atoms with every secret replaced."""
    clean: dict[str, Any] = {}
    for key, value in atoms.items():
        if _secret_atom(key):
            clean[key] = REDACTED
        elif isinstance(value, str):
            clean[key] = redact(value)
        else:
            clean[key] = value
    return clean


class RedactingLogger(Logger):
    """gunicorn's logger, with secrets taken out of the access log's atoms."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        """The atoms gunicorn would log, redacted."""
        return redact_atoms(super().atoms(resp, req, environ, request_time))
