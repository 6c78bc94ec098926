"""Real SMTP servers on loopback for the tests: an aiosmtpd inbox that can refuse,
and a server that accepts a connection and drops it."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from .pg import free_port


@dataclass
class Received:
    """One message the inbox accepted."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        msg = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg

    def attachment(self, suffix: str) -> bytes:
        for part in self.message.iter_attachments():
            if (part.get_filename() or "").endswith(suffix):
                payload = part.get_payload(decode=True)
                assert isinstance(payload, bytes)
                return payload
        raise AssertionError(f"no {suffix} attachment")

    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())


@dataclass
class Inbox:
    """An aiosmtpd handler: keeps what it accepts; can refuse at RCPT or DATA."""

    messages: list[Received] = field(default_factory=list)
    rcpt_reply: str | None = None
    data_reply: str | None = None
    #: Called while the message is being delivered (before the server answers).
    during_data: Callable[[], None] | None = None
    #: Called when a recipient is given (before the message is sent).
    during_rcpt: Callable[[], None] | None = None
    arrived: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.during_rcpt is not None:
            self.during_rcpt()
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.during_data is not None:
            self.during_data()
        if self.data_reply:
            return self.data_reply
        self.messages.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content or envelope.content,
            )
        )
        self.arrived.set()
        return "250 Message accepted for delivery"


class SmtpServer:
    """An aiosmtpd controller on 127.0.0.1 and a free port."""

    def __init__(self, inbox: Inbox | None = None, **controller_args: Any) -> None:
        self.inbox = inbox or Inbox()
        self.port = free_port()
        self.controller = Controller(
            self.inbox, hostname="127.0.0.1", port=self.port, **controller_args
        )

    def url(self, scheme: str = "smtp", query: str = "timeout=5") -> str:
        return f"{scheme}://127.0.0.1:{self.port}?{query}"

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class DroppingServer:
    """Accepts TCP connections and closes them at once (a broken mail server)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?timeout=5"

    def __enter__(self) -> DroppingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


class SilentServer(DroppingServer):
    """Accepts TCP connections and never says a word (a mail server that hangs):
    a client waits there until its timeout, or until it is killed."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[socket.socket] = []

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self.held.append(conn)

    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?timeout=120"

    def __exit__(self, *exc: object) -> None:
        for conn in self.held:
            conn.close()
        super().__exit__(*exc)


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost and its key (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
