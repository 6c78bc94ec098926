"""Behind a reverse proxy: believe ``X-Forwarded-*`` only from the proxies named in
``KANBAN_TRUSTED_PROXIES`` (Werkzeug's ``ProxyFix`` behind an address check), so that a
client cannot choose the address that the login limit counts."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: More proxies in a row than any real set-up has; beyond this the header is not read.
MAX_HOPS = 8


def parse_networks(text: str) -> tuple[Network, ...]:
    """``KANBAN_TRUSTED_PROXIES``: addresses or networks, separated by commas or spaces."""
    found = []
    for part in text.replace(",", " ").split():
        try:
            found.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(
                f"KANBAN_TRUSTED_PROXIES: {part[:60]!r} is not an IP address or network"
            ) from None
    return tuple(found)


def _trusted(address: str | None, networks: Iterable[Network]) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.strip().split("%")[0])
    except ValueError:
        return False
    return any(ip in net for net in networks)


class TrustedProxies:
    """WSGI middleware: ``ProxyFix`` for requests from a trusted proxy, nothing otherwise.

    The client's address is the rightmost ``X-Forwarded-For`` entry that is not itself a
    trusted proxy (so a chain of trusted proxies works, and whatever the client wrote at
    the left end of the header is never believed). Requests that do not come from a
    trusted proxy keep the socket's address and lose their ``X-Forwarded-*`` headers.
    """

    def __init__(self, app: Any, networks: Iterable[Network]) -> None:
        self.app = app
        self.networks = tuple(networks)
        self._fixes = {
            hops: ProxyFix(app, x_for=hops, x_proto=1, x_host=1, x_port=1)
            for hops in range(1, MAX_HOPS + 1)
        }

    def _hops(self, forwarded_for: str) -> int:
        """How many entries of ``X-Forwarded-For`` to walk back, from the right."""
        entries = [e.strip() for e in forwarded_for.split(",") if e.strip()]
        hops = 1
        for entry in reversed(entries[1:]):
            if hops >= MAX_HOPS or not _trusted(entry, self.networks):
                break
            hops += 1
        return min(hops, max(1, len(entries)))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        """Apply the proxy's headers, or drop them when the peer is not a trusted proxy."""
        if self.networks and _trusted(environ.get("REMOTE_ADDR"), self.networks):
            hops = self._hops(environ.get("HTTP_X_FORWARDED_FOR", ""))
            return self._fixes[hops](environ, start_response)
        for key in [k for k in environ if k.startswith("HTTP_X_FORWARDED_")]:
            del environ[key]
        environ.pop("HTTP_FORWARDED", None)
        return self.app(environ, start_response)
