"""``kanban serve --https``: a certificate made once in the instance folder, and HTTPS served
with it, so that phones on the LAN get live camera scanning."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest
import requests as http
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from kanban.ops.https import CertificateFiles, ensure_certificate

from ..conftest import KANBAN
from ..pg import free_port


def sans(path: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(v) for v in ext.get_values_for_type(x509.DNSName)} | {
        str(v) for v in ext.get_values_for_type(x509.IPAddress)
    }


def test_certificate_is_made_once_and_names_localhost_and_this_machine(tmp_path: Path) -> None:
    first = ensure_certificate(tmp_path)
    assert first.created
    names = sans(first.cert)
    assert {"localhost", "127.0.0.1", "::1"} <= names
    assert socket.gethostname().lower() in names
    # Private keys are readable by their owner only.
    for key in (first.key, tmp_path / "https" / "ca-key.pem"):
        assert key.stat().st_mode & 0o777 == 0o600
    cert_bytes, ca_bytes = first.cert.read_bytes(), first.ca.read_bytes()

    again = ensure_certificate(tmp_path)
    assert not again.created
    assert again.cert.read_bytes() == cert_bytes and again.ca.read_bytes() == ca_bytes


def test_server_certificate_is_signed_by_the_local_ca_for_tls_servers(tmp_path: Path) -> None:
    files = ensure_certificate(tmp_path)
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
    cert.verify_directly_issued_by(ca)  # raises when it is not
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in list(eku)
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days <= 398


def test_new_address_reissues_the_server_certificate_from_the_same_ca(tmp_path: Path) -> None:
    first = ensure_certificate(tmp_path)
    ca_before = first.ca.read_bytes()
    second = ensure_certificate(tmp_path, extra_names=["127.0.0.5"])  # within the CA's names
    assert second.created and not second.new_ca
    assert first.ca.read_bytes() == ca_before  # phones that trusted the CA keep trusting
    assert {"127.0.0.5", "localhost"} <= sans(second.cert)
    assert not ensure_certificate(tmp_path, extra_names=["127.0.0.5"]).created


# ------------------------------------------------------------- the local authority


def _ca(files: CertificateFiles) -> x509.Certificate:
    return x509.load_pem_x509_certificate(files.ca.read_bytes())


def _leaf(files: CertificateFiles, name: str) -> x509.Certificate:
    """A certificate for ``name`` made with the CA's key (what a thief of the key could do)."""
    ca = _ca(files)
    ca_key = serialization.load_pem_private_key((files.ca.parent / "ca-key.pem").read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    general: x509.GeneralName = (
        x509.IPAddress(ipaddress.ip_address(name)) if name[0].isdigit() else x509.DNSName(name)
    )
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(x509.SubjectAlternativeName([general]), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False)
        .sign(ca_key, hashes.SHA256())
    )


def _verify(files: CertificateFiles, cert: x509.Certificate, name: str) -> None:
    subject: x509.GeneralName = (
        x509.IPAddress(ipaddress.ip_address(name)) if name[0].isdigit() else x509.DNSName(name)
    )
    verifier = PolicyBuilder().store(Store([_ca(files)])).build_server_verifier(subject)  # type: ignore[arg-type]
    verifier.verify(cert, [])


def test_the_ca_can_certify_only_this_sites_names_and_addresses(tmp_path: Path) -> None:
    files = ensure_certificate(tmp_path)
    ext = _ca(files).extensions.get_extension_for_class(x509.NameConstraints)
    assert ext.critical and ext.value.excluded_subtrees is None
    _verify(files, x509.load_pem_x509_certificate(files.cert.read_bytes()), "localhost")
    _verify(files, _leaf(files, "localhost"), "localhost")
    _verify(files, _leaf(files, "127.0.0.9"), "127.0.0.9")
    for elsewhere in ("bank.example", "accounts.google.com", "8.8.8.8"):
        with pytest.raises(VerificationError, match="name constraint"):
            _verify(files, _leaf(files, elsewhere), elsewhere)


def test_the_ca_lives_two_years_at_most_and_its_key_is_the_owners(tmp_path: Path) -> None:
    files = ensure_certificate(tmp_path)
    ca = _ca(files)
    assert ca.not_valid_after_utc - ca.not_valid_before_utc <= dt.timedelta(days=731)
    key = files.ca.parent / "ca-key.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    key.chmod(0o644)  # somebody loosened it: the next start tightens it again
    ensure_certificate(tmp_path)
    assert key.stat().st_mode & 0o777 == 0o600


def test_an_unconstrained_ten_year_ca_from_an_older_version_is_replaced(tmp_path: Path) -> None:
    folder = tmp_path / "https"
    folder.mkdir()
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Kanban local CA (old)")])
    old = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    (folder / "ca.pem").write_bytes(old.public_bytes(serialization.Encoding.PEM))
    (folder / "ca-key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files = ensure_certificate(tmp_path)
    assert files.new_ca and _ca(files).serial_number != old.serial_number
    assert _ca(files).extensions.get_extension_for_class(x509.NameConstraints)
    assert not ensure_certificate(tmp_path).new_ca  # and then it is kept


def test_a_name_outside_the_cas_constraints_gets_a_new_ca(tmp_path: Path) -> None:
    before = _ca(ensure_certificate(tmp_path)).serial_number
    again = ensure_certificate(tmp_path, extra_names=["kanban.example"])
    assert again.new_ca and _ca(again).serial_number != before
    assert "kanban.example" in sans(again.cert)
    _verify(again, x509.load_pem_x509_certificate(again.cert.read_bytes()), "kanban.example")


def test_damaged_certificate_is_replaced(tmp_path: Path) -> None:
    files = ensure_certificate(tmp_path)
    files.cert.write_text("not a certificate")
    again = ensure_certificate(tmp_path)
    assert again.created
    x509.load_pem_x509_certificate(again.cert.read_bytes())


def _start(tmp_path: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KANBAN_DATABASE_URL": f"sqlite:///{tmp_path / 'kanban.db'}",
        "KANBAN_INSTANCE_PATH": str(tmp_path / "instance"),
        "KANBAN_SECRET_KEY": "test",
    }
    return subprocess.Popen(
        [KANBAN, "serve", "--https", "--port", str(port), "--workers", "1", "--threads", "4"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )


def _wait_https(url: str, ca: Path, proc: subprocess.Popen[bytes], log: Path) -> http.Response:
    deadline = time.time() + 30
    while time.time() < deadline:
        assert proc.poll() is None, log.read_text()
        if ca.exists():
            try:
                return http.get(url, verify=str(ca), timeout=2)
            except (http.ConnectionError, http.exceptions.SSLError):
                pass
        time.sleep(0.1)
    raise AssertionError(f"no HTTPS answer:\n{log.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_serve_https_makes_a_certificate_and_serves_https_with_it(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    ca = tmp_path / "instance" / "https" / "ca.pem"
    proc = _start(tmp_path, port, log)
    try:
        page = _wait_https(f"https://127.0.0.1:{port}/login", ca, proc, log)
        assert page.status_code == 200 and "Log in" in page.text
        # The login page sets the session cookie: over HTTPS it is Secure.
        assert "secure" in page.headers.get("Set-Cookie", "").lower()
        # Browsers keep to HTTPS for this host from now on (issue 15, point 2).
        assert page.headers["Strict-Transport-Security"].startswith("max-age=")
        # The hostname is certified too, not only the address.
        ctx = ssl.create_default_context(cafile=str(ca))
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            ctx.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
        # Plain HTTP is not served on that port.
        with pytest.raises(http.ConnectionError):
            http.get(f"http://127.0.0.1:{port}/login", timeout=2)
        text = log.read_text()
        assert "Created the HTTPS certificate" in text and f"https://127.0.0.1:{port}/" in text
        assert "decoders: zxing-cpp" in text
    finally:
        _stop(proc)
    fingerprint = (tmp_path / "instance" / "https" / "cert.pem").read_bytes()

    # A second start keeps the certificate phones already accepted.
    log2 = tmp_path / "serve2.log"
    proc = _start(tmp_path, port, log2)
    try:
        assert _wait_https(f"https://127.0.0.1:{port}/login", ca, proc, log2).status_code == 200
        assert "Using the HTTPS certificate" in log2.read_text()
    finally:
        _stop(proc)
    assert (tmp_path / "instance" / "https" / "cert.pem").read_bytes() == fingerprint
