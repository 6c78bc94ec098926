"""The ``Kanban-Signature`` header: ``t=<unix seconds>,v1=<hex>``, where ``v1`` is the
HMAC-SHA256, keyed with the endpoint's secret, of ``<t>.`` followed by the raw body.

Receivers check it with the ten-line recipe in docs/manual/integrators.md ("Checking the
signature"); :func:`verify` is the same check.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

#: Secrets start with this, so that one pasted into the wrong place is recognised.
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
#: How old a signature a receiver should accept (seconds): replays older than this fail.
TOLERANCE = 300


def new_secret() -> str:
    """A fresh endpoint secret (256 random bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for this body sent at ``timestamp`` (unix seconds)."""
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, now: float, tolerance: int = TOLERANCE) -> bool:
    """True if ``header`` signs ``body`` with ``secret`` and is at most ``tolerance`` s old."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    stamp = fields.get("t", "")
    if not stamp.isdigit() or abs(now - int(stamp)) > tolerance:
        return False
    return hmac.compare_digest(_mac(secret, int(stamp), body), fields.get("v1", ""))
