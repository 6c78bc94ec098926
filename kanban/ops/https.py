"""A certificate for ``kanban serve --https`` (docs/manual/spec.md §3.3): live camera scanning
on a LAN.

Browsers open the camera only in a secure context (HTTPS, or localhost). A warehouse LAN
rarely has a certificate, so the app makes its own, once, in the instance folder::

    instance/https/ca.pem       a small local certificate authority (install it on phones)
    instance/https/ca-key.pem   its private key (0600)
    instance/https/cert.pem     the server certificate, signed by that CA
    instance/https/key.pem      its private key (0600)

Two certificates rather than one self-signed server certificate: a phone that trusted the
CA keeps trusting the server when the server certificate is re-issued (the machine got a
new LAN address, or the certificate neared its end), and browsers such as Firefox refuse a
CA certificate used directly as a server certificate. The server certificate names
``localhost``, ``127.0.0.1``, ``::1``, the machine's host names and every LAN address found;
it is re-issued at start-up when one of those is missing or it expires within 30 days.

Phones are told to trust the CA, so whoever holds its key could make a certificate for any
site a phone visits. The CA is therefore limited (a critical *name constraints* extension)
to this site's own names — its host names and ``localhost`` — and addresses — the
loopback range and the /24 (IPv4) or /64 (IPv6) network of each LAN address. It lives at
most two years, and its key is readable by its owner only. A CA that lacks the constraints
(made by an older version), lives longer, nears its end or does not cover a new name or
network is replaced at start-up (``new_ca``): the phones must install the new one.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "CertificateFiles",
    "ca_certificate",
    "ensure_certificate",
    "local_names",
    "permitted_names",
]

#: Server certificates live 397 days: Apple platforms refuse longer-lived TLS certificates.
SERVER_DAYS = 397
#: The local CA lives two years at most: long enough not to bother the phones often, short
#: enough that a copied key or a forgotten CA does not stay useful for long.
CA_DAYS = 730
#: The networks the CA may certify around each LAN address (a DHCP lease that moves within
#: the LAN keeps the CA).
IPV4_PREFIX, IPV6_PREFIX = 24, 64
#: A server certificate this close to its end is re-issued at start-up.
RENEW_BEFORE = dt.timedelta(days=30)

_DNS_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)+$")


@dataclass(frozen=True)
class CertificateFiles:
    """Where the certificate and keys are, and whether this call (re)made them."""

    cert: Path
    key: Path
    ca: Path
    names: tuple[str, ...]
    created: bool
    new_ca: bool = False


def _add_unique(out: list[str], value: str | None) -> None:
    if value and value not in out:
        out.append(value)


def _route_address(family: int, probe: str) -> str | None:
    """The local address the OS would use to reach ``probe`` (a UDP connect sends nothing)."""
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect((probe, 9))
            return str(s.getsockname()[0])
    except OSError:
        return None


def local_names(extra: Iterable[str] = ()) -> list[str]:
    """Names and addresses a phone on the LAN may use to reach this machine.

    Always ``localhost``, ``127.0.0.1`` and ``::1``; then the host name, its ``.local``
    (mDNS) form, the fully qualified name, the addresses the host name resolves to, the
    addresses of the default routes, and ``extra`` (e.g. the ``--host`` address).
    """
    out: list[str] = ["localhost", "127.0.0.1", "::1"]
    host = socket.gethostname()
    for name in (host, f"{host.split('.')[0]}.local" if host else None, socket.getfqdn()):
        if name and _DNS_RE.match(name) and name != "localhost":
            _add_unique(out, name.lower().rstrip("."))
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        infos = []
    for info in infos:
        _add_unique(out, str(info[4][0]).split("%")[0])
    # TEST-NET and documentation addresses: never routed anywhere, nothing is sent.
    _add_unique(out, _route_address(socket.AF_INET, "192.0.2.1"))
    _add_unique(out, _route_address(socket.AF_INET6, "2001:db8::1"))
    for value in extra:
        if value in ("0.0.0.0", "::", ""):  # noqa: S104 (bind-all is not a name to certify)
            continue
        if _is_ip(value) or _DNS_RE.match(value):
            _add_unique(out, value.lower())
    return [n for n in out if not _is_ip(n) or not ipaddress.ip_address(n).is_unspecified]


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _general_names(names: Iterable[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for n in names:
        if _is_ip(n):
            out.append(x509.IPAddress(ipaddress.ip_address(n)))
        else:
            out.append(x509.DNSName(n))
    return out


def _write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable only by its owner (replacing any old one atomically)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _write_public(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def permitted_names(names: Iterable[str]) -> list[x509.GeneralName]:
    """What the CA may certify: each host name (and names under it), the loopback ranges and
    the network of each other address."""
    out: list[x509.GeneralName] = []
    for n in names:
        if _is_ip(n):
            ip = ipaddress.ip_address(n)
            if ip.is_loopback:
                net = ipaddress.ip_network("127.0.0.0/8" if ip.version == 4 else "::1/128")
            else:
                prefix = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
                net = ipaddress.ip_network(f"{ip}/{prefix}", strict=False)
            general: x509.GeneralName = x509.IPAddress(net)
        else:
            general = x509.DNSName(n)
        if general not in out:
            out.append(general)
    return out


def _covers(permitted: Iterable[x509.GeneralName], name: str) -> bool:
    for general in permitted:
        if isinstance(general, x509.IPAddress) and _is_ip(name):
            net = general.value
            network = ipaddress.IPv4Network | ipaddress.IPv6Network
            if isinstance(net, network) and ipaddress.ip_address(name) in net:
                return True
        elif isinstance(general, x509.DNSName) and not _is_ip(name):
            base = general.value.lower()
            if name == base or name.endswith("." + base):
                return True
    return False


def _ca_fits(ca: x509.Certificate, names: list[str], now: dt.datetime) -> bool:
    """True when ``ca`` may go on: constrained to names covering ``names``, two years at
    most, not near its end."""
    if ca.not_valid_after_utc - RENEW_BEFORE < now:
        return False
    if ca.not_valid_after_utc - ca.not_valid_before_utc > dt.timedelta(days=CA_DAYS, hours=1):
        return False
    try:
        ext = ca.extensions.get_extension_for_class(x509.NameConstraints)
    except x509.ExtensionNotFound:
        return False
    permitted = ext.value.permitted_subtrees or []
    return ext.critical and all(_covers(permitted, n) for n in names)


def _make_ca(
    now: dt.datetime, names: list[str]
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    host = socket.gethostname() or "localhost"
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kanban board"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Kanban local CA ({host})"[:64]),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.NameConstraints(permitted_names(names), None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _make_server(
    names: list[str], ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, now: dt.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kanban board"),
            x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64]),
        ]
    )
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=SERVER_DAYS), ca.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=False,
                key_cert_sign=False,
                crl_sign=False,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(x509.SubjectAlternativeName(_general_names(names)), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _spki(key: object) -> bytes:
    return key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _same_key(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> bool:
    """True when ``cert`` certifies ``key``'s public half."""
    return _spki(cert.public_key()) == _spki(key.public_key())


def _load_ca(folder: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    try:
        cert = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
        key = serialization.load_pem_private_key((folder / "ca-key.pem").read_bytes(), None)
    except (OSError, ValueError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    if not _same_key(cert, key):
        return None
    return cert, key


def _server_still_good(
    folder: Path, ca: x509.Certificate, names: list[str], now: dt.datetime
) -> bool:
    """True when cert.pem/key.pem exist, match, come from ``ca``, cover ``names`` and last."""
    try:
        cert = x509.load_pem_x509_certificate((folder / "cert.pem").read_bytes())
        key = serialization.load_pem_private_key((folder / "key.pem").read_bytes(), None)
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return False
    if not _same_key(cert, key):
        return False
    if cert.issuer != ca.subject:
        return False
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    if cert.not_valid_after_utc - RENEW_BEFORE < now:
        return False
    have = {str(v) for v in sans.get_values_for_type(x509.DNSName)}
    have |= {str(v) for v in sans.get_values_for_type(x509.IPAddress)}
    wanted = {str(ipaddress.ip_address(n)) if _is_ip(n) else n for n in names}
    return wanted <= have


def ensure_certificate(instance: Path | str, extra_names: Iterable[str] = ()) -> CertificateFiles:
    """Return the HTTPS certificate files in ``instance``/https, making them when needed.

    The CA is kept while it fits (see the module docstring), else replaced. The server
    certificate is kept while it is valid for more than 30 days and names every current
    address (see :func:`local_names`); otherwise a new one is issued by the CA.
    """
    folder = Path(instance) / "https"
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    for secret in ("ca-key.pem", "key.pem"):
        if (folder / secret).exists():
            os.chmod(folder / secret, 0o600)
    now = dt.datetime.now(dt.UTC)
    names = local_names(extra_names)
    created = new_ca = False
    loaded = _load_ca(folder)
    if loaded is None or not _ca_fits(loaded[0], names, now):
        ca, ca_key = _make_ca(now, names)
        _write_private(folder / "ca-key.pem", _key_pem(ca_key))
        _write_public(folder / "ca.pem", ca.public_bytes(serialization.Encoding.PEM))
        created = new_ca = True
    else:
        ca, ca_key = loaded
    if created or not _server_still_good(folder, ca, names, now):
        cert, key = _make_server(names, ca, ca_key, now)
        _write_private(folder / "key.pem", _key_pem(key))
        _write_public(folder / "cert.pem", cert.public_bytes(serialization.Encoding.PEM))
        created = True
    return CertificateFiles(
        cert=folder / "cert.pem",
        key=folder / "key.pem",
        ca=folder / "ca.pem",
        names=tuple(names),
        created=created,
        new_ca=new_ca,
    )


def ca_certificate(instance: Path | str) -> bytes | None:
    """The local CA certificate (PEM) for phones to install, or None before ``--https`` ran."""
    path = Path(instance) / "https" / "ca.pem"
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return data if data.startswith(b"-----BEGIN CERTIFICATE-----") else None
