"""Email over SMTP: the ``KANBAN_SMTP_URL`` setting, building and sending messages.

Nothing here touches the database: callers build a message, send it outside
any transaction and record the outcome afterwards (see ``sending.py``).

URL forms::

    smtp://host[:port]                     plain SMTP (port 25)
    smtp+starttls://user:pass@host[:port]  STARTTLS upgrade (port 587)
    smtps://user:pass@host[:port]          TLS from the first byte (port 465)

Query options: ``timeout`` (seconds per network operation, default 20),
``cafile`` (a PEM file of CA certificates to trust, e.g. an internal relay's
self-signed certificate), ``verify=0`` (do not check the server's
certificate at all; only for a trusted network) and ``insecure_login=1`` (allow
a user and password on plain ``smtp://``, where they cross the network
unencrypted; refused without it). User and password may be percent-encoded
(``%40`` for ``@``).
"""

from __future__ import annotations

import base64
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

SCHEMES = {"smtp": ("plain", 25), "smtp+starttls": ("starttls", 587), "smtps": ("tls", 465)}
DEFAULT_TIMEOUT = 20.0
MAX_TIMEOUT = 300.0


class MailConfigError(ValueError):
    """``KANBAN_SMTP_URL`` cannot be used; the message says why."""


class MailError(Exception):
    """A message was not accepted; ``reason`` says why, for a person.

    ``permanent``: trying again will not help until a person fixes something
    (a 5xx refusal, a login or certificate problem); otherwise the failure is
    temporary (a 4xx answer, a timeout, a server that cannot be reached).
    """

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def _permanent(code: int) -> bool:
    return 500 <= code <= 599


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand messages over."""

    host: str
    port: int
    security: str  # "plain", "starttls" or "tls"
    username: str | None = None
    password: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    cafile: str | None = None
    verify: bool = True

    def describe(self) -> str:
        """The server for people and logs, without the password."""
        who = f"{self.username}@" if self.username else ""
        return f"{self.security} {who}{self.host}:{self.port}"


def _flag(value: str, key: str) -> bool:
    low = value.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise MailConfigError(f"{key} must be 0 or 1, not {value[:20]!r}.")


def parse_smtp_url(url: str) -> SmtpSettings:
    """Read an SMTP URL (see the module docstring) or raise MailConfigError."""
    if not url or not url.strip():
        raise MailConfigError("No SMTP server is configured (KANBAN_SMTP_URL is empty).")
    try:
        parts = urlsplit(url.strip())
        port_given = parts.port
    except ValueError as exc:
        raise MailConfigError(f"KANBAN_SMTP_URL is not a valid URL: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise MailConfigError(
            f"KANBAN_SMTP_URL must start with {', '.join(s + '://' for s in SCHEMES)} "
            f"(got {scheme[:20]!r})."
        )
    security, default_port = SCHEMES[scheme]
    host = parts.hostname
    if not host:
        raise MailConfigError("KANBAN_SMTP_URL has no host name.")
    if parts.path not in ("", "/"):
        raise MailConfigError("KANBAN_SMTP_URL must not have a path.")
    timeout, cafile, verify, insecure_login = DEFAULT_TIMEOUT, None, True, False
    for key, values in parse_qs(parts.query, keep_blank_values=True, strict_parsing=False).items():
        value = values[-1]
        if key == "timeout":
            try:
                timeout = float(value)
            except ValueError:
                raise MailConfigError("timeout must be a number of seconds.") from None
            if not 0 < timeout <= MAX_TIMEOUT:
                raise MailConfigError(f"timeout must be between 0 and {MAX_TIMEOUT:.0f} seconds.")
        elif key == "cafile":
            cafile = value or None
        elif key == "verify":
            verify = _flag(value, key)
        elif key == "insecure_login":
            insecure_login = _flag(value, key)
        else:
            raise MailConfigError(f"Unknown KANBAN_SMTP_URL option {key[:30]!r}.")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and username is None:
        raise MailConfigError("KANBAN_SMTP_URL has a password but no user name.")
    if security == "plain" and username is not None and not insecure_login:
        raise MailConfigError(
            "KANBAN_SMTP_URL would send the mail password unencrypted over plain smtp://: "
            "use smtp+starttls:// or smtps://, or add ?insecure_login=1 if the relay is on a "
            "network you trust."
        )
    return SmtpSettings(
        host=host,
        port=port_given or default_port,
        security=security,
        username=username,
        password=password,
        timeout=timeout,
        cafile=cafile,
        verify=verify,
    )


def valid_address(address: str | None) -> bool:
    """A plain ``local@domain`` address with no spaces or control characters."""
    if not address or len(address) > 254:
        return False
    if any(c.isspace() or ord(c) < 32 or c in '<>,;"' for c in address):
        return False
    name, parsed = parseaddr(address)
    if parsed != address or name:
        return False
    local, _, domain = address.rpartition("@")
    return bool(local) and "." in domain and not domain.startswith(".")


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message."""

    filename: str
    content: bytes
    mime_type: str  # "application/pdf", "text/csv", ...


def _header_text(value: str) -> str:
    # Header values come partly from the database: no line breaks, bounded.
    return " ".join(value.split())[:300]


def build_message(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    attachments: list[Attachment] | tuple[Attachment, ...] = (),
    reply_to: str | None = None,
) -> EmailMessage:
    """A plain-text message with attachments, ready for :func:`send`."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = _header_text(subject)
    msg["Date"] = formatdate(usegmt=True)
    domain = sender.rpartition("@")[2] or "localhost"
    msg["Message-ID"] = make_msgid(domain=domain)
    msg.set_content(text)
    for att in attachments:
        maintype, _, subtype = att.mime_type.partition("/")
        if maintype == "text":
            msg.add_attachment(att.content.decode("utf-8"), subtype=subtype, filename=att.filename)
        else:
            msg.add_attachment(
                att.content, maintype=maintype, subtype=subtype, filename=att.filename
            )
    return msg


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=settings.cafile)
    if not settings.verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _reply_text(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return f"{code} {' '.join(text.split())}"[:300]


def scrub(text: str, settings: SmtpSettings) -> str:
    """``text`` without the relay's password in any form a server might echo it in: plain,
    percent-encoded, and base64 as AUTH PLAIN and AUTH LOGIN send it."""
    if not settings.password:
        return text
    user, password = settings.username or "", settings.password
    forms = {
        password,
        quote(password, safe=""),
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(f"\0{user}\0{password}".encode()).decode(),
        base64.b64encode(f"{user}\0{user}\0{password}".encode()).decode(),
    }
    for form in sorted(forms, key=len, reverse=True):
        if len(form) >= 3:
            text = text.replace(form, "[password]")
    return text


class _Smtp(smtplib.SMTP):
    """smtplib's client, with a call just before the end of the message (see :func:`send`)."""

    on_handover: Callable[[], None] | None = None

    def data(self, msg: Any) -> tuple[int, bytes]:
        """DATA as smtplib sends it, but the final ``.`` line only after ``on_handover``."""
        hand_over = self.on_handover
        if hand_over is None:
            return super().data(msg)
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        body = re.sub(rb"(?m)^\.", b"..", msg if isinstance(msg, bytes) else msg.encode())
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        self.send(body)
        try:
            hand_over()
        except BaseException:
            self.close()  # no end of data: the server drops the message
            raise
        self.send(b".\r\n")
        return self.getreply()


class _SmtpSsl(_Smtp, smtplib.SMTP_SSL):
    """The same over TLS from the first byte."""


def send(
    settings: SmtpSettings,
    message: EmailMessage,
    *,
    on_handover: Callable[[], None] | None = None,
) -> None:
    """Hand the message to the server, or raise MailError with a reason for people (never
    with the relay's password in it, whatever the server answered).

    Every network operation is bounded by ``settings.timeout``. Call it with no
    database transaction open: it may take that long.

    ``on_handover`` is called after the whole message has been transmitted and
    before the line that ends it: until that line, the server drops the message
    if the connection breaks, so a process that dies before it has sent
    nothing. If ``on_handover`` raises, the connection is closed without the
    end of the message (nothing is sent) and the exception propagates.
    """
    try:
        _converse(settings, message, on_handover)
    except MailError as exc:
        raise MailError(scrub(exc.reason, settings), permanent=exc.permanent) from None


# long: one SMTP conversation, each failure mapped to a reason a person can act on
def _converse(
    settings: SmtpSettings, message: EmailMessage, on_handover: Callable[[], None] | None
) -> None:
    """The SMTP conversation of :func:`send`."""
    where = f"{settings.host}:{settings.port}"
    try:
        ctx = _tls_context(settings) if settings.security != "plain" else None
        smtp: _Smtp
        if settings.security == "tls":
            smtp = _SmtpSsl(settings.host, settings.port, timeout=settings.timeout, context=ctx)
        else:
            smtp = _Smtp(settings.host, settings.port, timeout=settings.timeout)
        smtp.on_handover = on_handover
        with smtp:
            smtp.ehlo()
            if settings.security == "starttls":
                smtp.starttls(context=ctx)
                smtp.ehlo()
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            refused = smtp.send_message(message)
        if refused:
            rcpt, (code, text) = next(iter(refused.items()))
            raise MailError(
                f"The mail server {where} refused the recipient {rcpt}: {_reply_text(code, text)}",
                permanent=_permanent(code),
            )
    except MailError:
        raise
    except smtplib.SMTPRecipientsRefused as exc:
        rcpt, (code, text) = next(iter(exc.recipients.items()))
        raise MailError(
            f"The mail server {where} refused the recipient {rcpt}: {_reply_text(code, text)}",
            permanent=_permanent(code),
        ) from None
    except smtplib.SMTPSenderRefused as exc:
        raise MailError(
            f"The mail server {where} refused the sender {exc.sender}: "
            f"{_reply_text(exc.smtp_code, exc.smtp_error)}",
            permanent=_permanent(exc.smtp_code),
        ) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(
            f"The mail server {where} refused the login: "
            f"{_reply_text(exc.smtp_code, exc.smtp_error)}",
            permanent=_permanent(exc.smtp_code),
        ) from None
    except smtplib.SMTPDataError as exc:
        raise MailError(
            f"The mail server {where} refused the message: "
            f"{_reply_text(exc.smtp_code, exc.smtp_error)}",
            permanent=_permanent(exc.smtp_code),
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise MailError(
            f"The mail server {where} does not support what the URL asks for ({exc}).",
            permanent=True,
        ) from None
    except smtplib.SMTPServerDisconnected as exc:
        raise MailError(f"The mail server {where} closed the connection ({exc}).") from None
    except smtplib.SMTPResponseException as exc:
        raise MailError(
            f"The mail server {where} answered {_reply_text(exc.smtp_code, exc.smtp_error)}",
            permanent=_permanent(exc.smtp_code),
        ) from None
    except ssl.SSLError as exc:
        raise MailError(
            f"TLS with the mail server {where} failed: {exc.reason or exc}.", permanent=True
        ) from None
    except TimeoutError:
        raise MailError(
            f"The mail server {where} did not answer within {settings.timeout:g} s."
        ) from None
    except ConnectionRefusedError:
        raise MailError(f"The mail server {where} refused the connection.") from None
    except socket.gaierror as exc:
        raise MailError(f"The mail server host {settings.host} was not found ({exc}).") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"Sending through {where} failed: {exc}.") from None
