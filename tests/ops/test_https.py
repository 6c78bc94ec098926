"""``kanban serve --https``: a certificate made once in the instance folder, and HTTPS served
with it, so that phones on the LAN get live camera scanning."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest
import requests as http
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from kanban.ops.https import ensure_certificate

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
    second = ensure_certificate(tmp_path, extra_names=["10.20.30.40", "kanban.example"])
    assert second.created
    assert first.ca.read_bytes() == ca_before  # phones that trusted the CA keep trusting
    names = sans(second.cert)
    assert {"10.20.30.40", "kanban.example", "localhost"} <= names
    assert not ensure_certificate(tmp_path, extra_names=["10.20.30.40"]).created


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
