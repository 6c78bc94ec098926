"""Sending supplier requests by email against real SMTP servers on loopback."""

from __future__ import annotations

import csv
import datetime as dt
import io
import smtplib
import ssl
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask, current_app
from pypdf import PdfReader

from kanban import config
from kanban.core.actor import Actor
from kanban.core.errors import ServiceError
from kanban.domain.statuses import SentVia
from kanban.extensions import db
from kanban.models import Bin, Item, RequestLine, Supplier, SupplierRequest
from kanban.purchasing import mail, requests, review, sending
from kanban.purchasing.settings import SiteDetails
from kanban.stock.scanning import MoveResult, record_scan

from ..conftest import Api
from ..outbox import drain
from ..pg import free_port
from ..smtp_server import DroppingServer, SmtpServer, self_signed_cert

ANA = Actor(name="ana", station="Station 2", source="usb")
SUPPLIER_EMAIL = "orders@acme.example"


def _mail() -> sending.MailSettings:
    """The test app's mail settings, as the web layer passes them."""
    return sending.MailSettings.from_config(current_app.config)


def pull(code: str, qty: int | None = None) -> MoveResult:
    return record_scan(code, "pull", qty, ANA, None)


def fresh() -> None:
    db.session.rollback()  # see what other threads committed


def req_of(request_id: int) -> SupplierRequest:
    fresh()
    req = db.session.get(SupplierRequest, request_id)
    assert req is not None
    return req


def state(code: str) -> str:
    fresh()
    return str(db.session.scalar(sa.select(Bin.state).where(Bin.code == code)))


@pytest.fixture
def smtp(app: Flask) -> Iterator[SmtpServer]:
    """An accepting SMTP server, configured as the app's KANBAN_SMTP_URL."""
    with SmtpServer() as server:
        app.config["SMTP_URL"] = server.url()
        app.config["MAIL_FROM"] = "kanban@plant.example"
        yield server


@pytest.fixture
def two_lines(make_bin: Callable[..., str]) -> int:
    """A draft for Acme with two lines (one item with cost, part number and an accent)."""
    make_bin("A-1", on_hand=5, card=5, order=12, sku="BOLT-M6", lead_time_days=4)
    make_bin("B-2", on_hand=5, card=5, order=20, pack=6, sku="NUT-M6")
    item = db.session.scalar(sa.select(Item).where(Item.sku == "BOLT-M6"))
    assert item is not None
    item.name, item.unit_cost, item.supplier_part_number = (
        "Bolt M6 × 20 – zinc",
        Decimal("0.125"),
        "AC-4471",
    )
    db.session.commit()
    first = pull("A-1")
    pull("B-2")
    assert first.request is not None
    return int(first.request["id"])


# ---------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example", ("plain", "mail.example", 25, None, None)),
        ("smtp://mail.example:2525", ("plain", "mail.example", 2525, None, None)),
        (
            "smtp+starttls://ana%40plant:p%3Ass%2Fw@mail.example:587",
            ("starttls", "mail.example", 587, "ana@plant", "p:ss/w"),
        ),
        ("smtp+starttls://u:p@mail.example", ("starttls", "mail.example", 587, "u", "p")),
        ("smtps://u:p@mail.example", ("tls", "mail.example", 465, "u", "p")),
        ("SMTPS://u:@mail.example:10465", ("tls", "mail.example", 10465, "u", "")),
    ],
)
def test_smtp_url_gives_security_host_port_and_login(
    url: str, expected: tuple[str, str, int, str | None, str | None]
) -> None:
    s = mail.parse_smtp_url(url)
    assert (s.security, s.host, s.port, s.username, s.password) == expected
    assert s.timeout == mail.DEFAULT_TIMEOUT and s.verify and s.cafile is None


def test_smtp_settings_describe_themselves_without_the_password() -> None:
    s = mail.parse_smtp_url("smtp+starttls://ana:s3cret-pw@mail.example")
    assert s.describe() == "starttls ana@mail.example:587"


def test_smtp_url_options() -> None:
    s = mail.parse_smtp_url("smtps://relay.local?timeout=2.5&cafile=/etc/relay.pem&verify=0")
    assert (s.timeout, s.cafile, s.verify) == (2.5, "/etc/relay.pem", False)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("", "No SMTP server"),
        ("http://mail.example", "must start with"),
        ("smtp+tls://mail.example", "must start with"),
        ("smtp://", "no host"),
        ("smtp://mail.example:99999", "not a valid URL"),
        ("smtp://mail.example/path", "path"),
        ("smtp://mail.example?timeout=0", "timeout"),
        ("smtp://mail.example?timeout=soon", "timeout"),
        ("smtp://mail.example?verify=maybe", "verify"),
        ("smtp://mail.example?tls=1", "Unknown"),
        ("smtp://:secret@mail.example", "no user name"),
    ],
)
def test_bad_smtp_url_is_explained(url: str, says: str) -> None:
    with pytest.raises(mail.MailConfigError, match=says):
        mail.parse_smtp_url(url)


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("orders@acme.example", True),
        ("a.b+c@sub.acme.example", True),
        ("", False),
        (None, False),
        ("orders", False),
        ("orders@localhost", False),
        ("a b@acme.example", False),
        ("x@acme.example\r\nBcc: evil@x.example", False),
        ("Ana <a@acme.example>", False),
    ],
)
def test_supplier_address_check(address: str | None, ok: bool) -> None:
    assert mail.valid_address(address) is ok


# ------------------------------------------------------------------- delivered


def test_email_reaches_supplier_with_text_pdf_and_csv(
    app: Flask, smtp: SmtpServer, two_lines: int
) -> None:
    req = sending.send_by_email(two_lines, _mail(), actor="sam")
    assert req.status == "sent" and req.sent_via == "email" and req.send_error is None
    [got] = smtp.inbox.messages
    assert got.rcpt_tos == [SUPPLIER_EMAIL]
    assert got.mail_from == "kanban@plant.example"
    msg = got.message
    number = requests.request_number(two_lines)
    assert msg["To"] == SUPPLIER_EMAIL and msg["From"] == "kanban@plant.example"
    assert msg["Subject"] == f"Purchase request {number} for Acme Fasteners"

    expected = (dt.datetime.now(dt.UTC) + dt.timedelta(days=4)).date()
    body = got.body()
    for text in (
        "Hello Acme Fasteners",
        number,
        "12 ea × Bolt M6 × 20 – zinc",
        "SKU BOLT-M6 · your part no. AC-4471 · for bin A-1",
        "24 ea × Part in B-2",
        "SKU NUT-M6",
        f"Expected by:   {expected.isoformat()}",
        "Total quantity: 36 ea",
        "Contact: sam <kanban@plant.example>",
    ):
        assert text in body, text

    pdf = PdfReader(io.BytesIO(got.attachment(".pdf")))
    pdf_text = "\n".join(page.extract_text() for page in pdf.pages)
    for text in ("BOLT-M6", "NUT-M6", "AC-4471", number, "Acme Fasteners", expected.isoformat()):
        assert text in pdf_text, text

    rows = list(csv.DictReader(io.StringIO(got.attachment(".csv").decode("utf-8-sig"))))
    assert [
        (
            r["request"],
            r["line"],
            r["sku"],
            r["supplier_part_number"],
            r["item"],
            r["bin"],
            r["quantity"],
            r["unit"],
            r["unit_cost"],
            r["line_value"],
            r["expected_date"],
        )
        for r in rows
    ] == [
        (
            number,
            "1",
            "BOLT-M6",
            "AC-4471",
            "Bolt M6 × 20 – zinc",
            "A-1",
            "12",
            "ea",
            "0.125",
            "1.50",
            expected.isoformat(),
        ),
        (number, "2", "NUT-M6", "", "Part in B-2", "B-2", "24", "ea", "", "", expected.isoformat()),
    ]
    assert req_of(two_lines).expected_date == expected
    assert state("A-1") == state("B-2") == "ordered"


def _assert_unsent(request_id: int, reason: str) -> None:
    req = req_of(request_id)
    assert req.status == "draft" and req.sent_at is None and req.sent_via is None
    assert req.send_error is not None and reason in req.send_error
    assert state("A-1") == state("B-2") == "replenish"
    assert requests.request_dict(req)["send_error"] == req.send_error


@pytest.mark.parametrize(
    ("where", "reply", "reason"),
    [
        (
            "rcpt",
            "550 5.1.1 Mailbox unknown",
            "refused the recipient orders@acme.example: 550 5.1.1 Mailbox unknown",
        ),
        (
            "data",
            "554 5.7.1 Message rejected as spam",
            "refused the message: 554 5.7.1 Message rejected as spam",
        ),
    ],
)
def test_refusing_server_leaves_request_unsent_with_the_reason(
    smtp: SmtpServer, two_lines: int, where: str, reply: str, reason: str
) -> None:
    setattr(smtp.inbox, f"{where}_reply", reply)
    with pytest.raises(ServiceError) as err:
        sending.send_by_email(two_lines, _mail(), actor="sam")
    assert err.value.code == "send_failed" and err.value.status == 502
    assert reason in err.value.message
    _assert_unsent(two_lines, reason)
    assert smtp.inbox.messages == []


def test_server_that_drops_the_connection_leaves_request_unsent(app: Flask, two_lines: int) -> None:
    with DroppingServer() as server:
        app.config["SMTP_URL"] = server.url()
        with pytest.raises(ServiceError) as err:
            sending.send_by_email(two_lines, _mail())
        assert server.accepted == 1
    assert err.value.code == "send_failed"
    _assert_unsent(two_lines, "closed the connection")


def test_unreachable_server_leaves_request_unsent(app: Flask, two_lines: int) -> None:
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}?timeout=5"
    with pytest.raises(ServiceError):
        sending.send_by_email(two_lines, _mail())
    _assert_unsent(two_lines, "refused the connection")


def test_failed_send_can_be_retried(smtp: SmtpServer, two_lines: int) -> None:
    smtp.inbox.rcpt_reply = "451 4.3.0 Try again later"
    with pytest.raises(ServiceError):
        sending.send_by_email(two_lines, _mail())
    assert "451" in (req_of(two_lines).send_error or "")
    smtp.inbox.rcpt_reply = None
    req = sending.send_by_email(two_lines, _mail())
    assert req.status == "sent" and req.send_error is None
    assert len(smtp.inbox.messages) == 1


def test_the_email_and_pdf_name_the_suppliers_contact_and_carry_its_note(
    app: Flask, smtp: SmtpServer, two_lines: int
) -> None:
    sup = db.session.scalar(sa.select(Supplier).where(Supplier.name == "Acme Fasteners"))
    assert sup is not None
    sup.contact, sup.request_note = "Ann Smith", "Customer no. 4711 · deliver to gate 3"
    db.session.commit()
    sending.send_by_email(two_lines, _mail(), actor="sam")
    [got] = smtp.inbox.messages
    body = got.body()
    assert body.startswith("Hello Ann Smith (Acme Fasteners),")
    assert "Note:          Customer no. 4711 · deliver to gate 3" in body
    pdf = PdfReader(io.BytesIO(got.attachment(".pdf")))
    pdf_text = " ".join(" ".join(page.extract_text() for page in pdf.pages).split())
    assert "Attention Ann Smith" in pdf_text
    assert "Note Customer no. 4711 · deliver to gate 3" in pdf_text


def test_supplier_without_email_is_refused_before_any_mail(
    smtp: SmtpServer, two_lines: int
) -> None:
    db.session.execute(sa.update(Supplier).values(email=None))
    db.session.commit()
    with pytest.raises(ServiceError) as err:
        sending.send_by_email(two_lines, _mail())
    assert err.value.code == "no_supplier_email"
    assert req_of(two_lines).status == "draft" and smtp.inbox.messages == []


def test_send_without_smtp_marks_sent_and_by_email_is_refused(app: Flask, two_lines: int) -> None:
    app.config["SMTP_URL"] = ""
    with pytest.raises(ServiceError) as err:
        sending.send(two_lines, _mail(), via="email")
    assert err.value.code == "smtp_not_configured"
    # Said for a supervisor; the setting to fix is a hint for admins only.
    assert err.value.message.startswith("Email is not set up: ask your admin")
    assert "KANBAN" not in err.value.message
    assert "KANBAN_SMTP_URL" in str(err.value.details["admin_hint"])
    req = sending.send(two_lines, _mail())  # the default without SMTP: mark it sent
    assert (req.status, req.sent_via) == ("sent", "manual")


def test_a_misconfigured_smtp_url_tells_supervisors_to_ask_their_admin(
    app: Flask, two_lines: int
) -> None:
    app.config["SMTP_URL"] = "http://mail.plant.example"
    with pytest.raises(ServiceError) as err:
        sending.send(two_lines, _mail(), via="email")
    assert err.value.code == "smtp_misconfigured"
    assert err.value.message.startswith("Email is not set up correctly: ask your admin")
    assert "KANBAN" not in err.value.message
    assert "KANBAN_SMTP_URL must start with" in str(err.value.details["admin_hint"])
    assert req_of(two_lines).status == "draft"


SITE = {
    "COMPANY_NAME": "Müller Antriebe GmbH",
    "DELIVERY_ADDRESS": "Plant 2, Goods in (gate 3); Industriestraße 5; 70565 Stuttgart",
    "BUYER_NAME": "Sam Buyer",
    "BUYER_EMAIL": "purchasing@mueller.example",
    "BUYER_PHONE": "+49 711 555 0100",
    "TERMS": "Payment 30 days net. Deliveries Monday to Friday, 7:00 to 15:00.",
}


def test_email_and_pdf_carry_company_delivery_address_buyer_and_terms(
    app: Flask, smtp: SmtpServer, two_lines: int
) -> None:
    app.config.update(SITE)
    sending.send_by_email(two_lines, _mail(), actor="ana")
    [got] = smtp.inbox.messages
    assert got.message["Reply-To"] == "purchasing@mueller.example"  # replies reach the buyer
    assert got.message["From"] == "kanban@plant.example"
    number = requests.request_number(two_lines)
    lines = got.body().splitlines()
    assert f"please supply the items below for our purchase request {number} from Müller " in (
        got.body()
    )
    at = lines.index("Deliver to:    Müller Antriebe GmbH")
    assert lines[at + 1 : at + 4] == [
        " " * 15 + "Plant 2, Goods in (gate 3)",
        " " * 15 + "Industriestraße 5",
        " " * 15 + "70565 Stuttgart",
    ]
    terms = lines.index("Terms:")
    assert lines[terms + 1] == SITE["TERMS"]
    assert "Contact: Sam Buyer <purchasing@mueller.example> · +49 711 555 0100" in lines
    assert lines[-2:] == ["Sam Buyer", "Müller Antriebe GmbH"]  # the signature

    pdf = PdfReader(io.BytesIO(got.attachment(".pdf")))
    text = " ".join(" ".join(page.extract_text() for page in pdf.pages).split())
    for expected in (
        "Buyer Müller Antriebe GmbH",
        "Deliver to Müller Antriebe GmbH Plant 2, Goods in (gate 3) Industriestraße 5 "
        "70565 Stuttgart",
        "Contact Sam Buyer <purchasing@mueller.example> · +49 711 555 0100",
        f"Terms {SITE['TERMS']}",
    ):
        assert expected in text, expected
    assert pdf.metadata is not None and pdf.metadata.author == "Müller Antriebe GmbH"


def test_without_site_details_the_sender_is_the_contact_and_nothing_is_left_blank(
    smtp: SmtpServer, two_lines: int
) -> None:
    sending.send_by_email(two_lines, _mail(), actor="ana")
    [got] = smtp.inbox.messages
    assert got.message["Reply-To"] is None
    body = got.body()
    assert "Contact: ana <kanban@plant.example>" in body
    assert "Deliver to" not in body and "Terms" not in body and " from " not in body
    pdf = PdfReader(io.BytesIO(got.attachment(".pdf")))
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert "Buyer" not in text and "Deliver to" not in text and "Terms" not in text


# ------------------------------------------- the database during the SMTP talk


def test_scan_while_email_is_on_its_way_is_not_blocked_and_waits_on_next_draft(
    app: Flask, smtp: SmtpServer, two_lines: int, make_bin: Callable[..., str]
) -> None:
    make_bin("C-3", on_hand=5, card=5, sku="WASHER-6")
    during: list[MoveResult] = []

    def scan_meanwhile() -> None:  # runs in the SMTP server's thread, mid-conversation
        with app.app_context():
            during.append(pull("C-3"))
            db.session.remove()

    smtp.inbox.during_data = scan_meanwhile
    sending.send_by_email(two_lines, _mail())
    assert during and during[0].flipped
    assert during[0].request is not None and during[0].request["id"] == two_lines
    # The supplier got two lines: only those are sent; the third waits on a new draft.
    assert [line.bin.code for line in req_of(two_lines).lines] == ["A-1", "B-2"]
    draft = db.session.scalar(sa.select(SupplierRequest).where(SupplierRequest.status == "draft"))
    assert draft is not None and [line.bin.code for line in draft.lines] == ["C-3"]
    assert (state("A-1"), state("C-3")) == ("ordered", "replenish")
    assert "WASHER-6" not in smtp.inbox.messages[0].body()


def test_draft_cannot_be_edited_or_sent_twice_while_its_email_is_on_its_way(
    app: Flask, smtp: SmtpServer, two_lines: int
) -> None:
    refusals: list[str] = []
    line_id = req_of(two_lines).lines[0].id

    def meddle() -> None:
        with app.app_context():
            for attempt in (
                lambda: review.update_line_quantity(two_lines, line_id, 24),
                lambda: review.remove_line(two_lines, line_id),
                lambda: sending.mark_sent(two_lines),
                lambda: sending.send_by_email(two_lines, _mail()),
            ):
                try:
                    attempt()
                except ServiceError as exc:
                    refusals.append(exc.code)
                db.session.rollback()
            db.session.remove()

    smtp.inbox.during_data = meddle
    sending.send_by_email(two_lines, _mail())
    assert refusals == ["sending_in_progress"] * 4
    assert len(smtp.inbox.messages) == 1
    assert req_of(two_lines).lines[0].quantity == 12


def test_a_send_that_never_finished_can_be_retried_after_the_timeout(
    smtp: SmtpServer, two_lines: int
) -> None:
    # A process that died between claiming and finishing leaves its claim behind.
    long_ago = dt.datetime.now(dt.UTC) - requests.CLAIM_TIMEOUT - dt.timedelta(seconds=1)
    db.session.execute(
        sa.update(SupplierRequest).values(sent_via=SentVia.SENDING, sent_at=long_ago)
    )
    db.session.commit()
    req = req_of(two_lines)
    assert not requests.is_sending(req) and requests.unfinished_send(req) == long_ago
    assert sending.send_by_email(two_lines, _mail()).status == "sent"


# ------------------------------------------------------------------------ TLS


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed_cert(tmp_path)


def _server_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def test_smtps_with_a_trusted_self_signed_certificate(
    app: Flask, two_lines: int, tls_files: tuple[Path, Path]
) -> None:
    cert, key = tls_files
    with SmtpServer(ssl_context=_server_context(cert, key)) as server:
        app.config["SMTP_URL"] = server.url("smtps", f"timeout=5&cafile={cert}")
        assert sending.send_by_email(two_lines, _mail()).status == "sent"
        assert len(server.inbox.messages) == 1


def test_starttls_upgrades_before_sending(
    app: Flask, two_lines: int, tls_files: tuple[Path, Path]
) -> None:
    cert, key = tls_files
    with SmtpServer(tls_context=_server_context(cert, key), require_starttls=True) as server:
        # Plain SMTP is refused by this server...
        settings = mail.parse_smtp_url(server.url())
        with pytest.raises(mail.MailError):
            mail.send(
                settings,
                mail.build_message(
                    sender="k@plant.example", to=SUPPLIER_EMAIL, subject="x", text="x"
                ),
            )
        # ...STARTTLS gets through.
        app.config["SMTP_URL"] = server.url("smtp+starttls", f"timeout=5&cafile={cert}")
        assert sending.send_by_email(two_lines, _mail()).status == "sent"
        assert len(server.inbox.messages) == 1


def test_untrusted_certificate_is_refused(
    app: Flask, two_lines: int, tls_files: tuple[Path, Path]
) -> None:
    cert, key = tls_files
    with SmtpServer(ssl_context=_server_context(cert, key)) as server:
        app.config["SMTP_URL"] = server.url("smtps")
        with pytest.raises(ServiceError) as err:
            sending.send_by_email(two_lines, _mail())
        assert "TLS" in err.value.message and server.inbox.messages == []
    assert req_of(two_lines).status == "draft"


# ------------------------------------------------------------- sending by itself


def _auto(on: bool = True) -> None:
    db.session.execute(sa.update(Supplier).values(auto_send=on))
    db.session.commit()


def test_auto_send_supplier_gets_the_email_right_after_the_flip(
    app: Flask, smtp: SmtpServer, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", on_hand=5, card=5)
    _auto()
    result = pull("A-1")
    assert result.flipped and result.request is not None
    assert drain(app) == 1
    assert [m.rcpt_tos for m in smtp.inbox.messages] == [[SUPPLIER_EMAIL]]
    req = req_of(int(result.request["id"]))
    assert (req.status, req.sent_via) == ("sent", "email")
    assert state("A-1") == "ordered"
    pull("A-1")  # no flip, no second email
    assert drain(app) == 0 and len(smtp.inbox.messages) == 1


def test_auto_send_failure_never_fails_the_scan(
    app: Flask, smtp: SmtpServer, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", on_hand=5, card=5)
    _auto()
    smtp.inbox.rcpt_reply = "550 No such user"
    result = pull("A-1")
    assert result.flipped and result.bin["on_hand"] == 4
    assert drain(app) == 1
    req = req_of(int(result.request["id"]))  # type: ignore[index]
    assert req.status == "draft" and "550 No such user" in (req.send_error or "")
    assert state("A-1") == "replenish"


def test_auto_send_without_smtp_says_why_on_the_draft(
    app: Flask, make_bin: Callable[..., str]
) -> None:
    app.config["SMTP_URL"] = ""
    make_bin("A-1", on_hand=5, card=5)
    _auto()
    result = pull("A-1")
    assert drain(app) == 1
    req = req_of(int(result.request["id"]))  # type: ignore[index]
    assert req.status == "draft" and "Email is not set up: ask your admin" in (req.send_error or "")
    assert "KANBAN" not in (req.send_error or "")  # shown to every supervisor on the draft


def test_suppliers_without_auto_send_are_left_alone(
    app: Flask, smtp: SmtpServer, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", on_hand=5, card=5)
    result = pull("A-1")
    assert drain(app) == 0
    assert smtp.inbox.messages == []
    assert req_of(int(result.request["id"])).status == "draft"  # type: ignore[index]


# --------------------------------------------------------------------------- API


def test_api_send_emails_where_smtp_is_configured(
    smtp: SmtpServer, supervisor_api: Api, two_lines: int
) -> None:
    resp = supervisor_api.post(f"/api/requests/{two_lines}/send")
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["status"], body["sent_via"], body["number"]) == (
        "sent",
        "email",
        requests.request_number(two_lines),
    )
    assert len(smtp.inbox.messages) == 1


def test_api_send_failure_is_502_and_changes_nothing(
    smtp: SmtpServer, supervisor_api: Api, two_lines: int
) -> None:
    smtp.inbox.data_reply = "554 Go away"
    resp = supervisor_api.post(f"/api/requests/{two_lines}/send")
    assert resp.status_code == 502
    assert resp.get_json()["error"]["code"] == "send_failed"
    listed = supervisor_api.get("/api/requests?status=draft").get_json()["requests"]
    assert [(r["id"], r["sending"]) for r in listed] == [(two_lines, False)]
    assert "554 Go away" in listed[0]["send_error"]
    manual = supervisor_api.post(f"/api/requests/{two_lines}/send", json={"via": "manual"})
    assert manual.status_code == 200 and manual.get_json()["sent_via"] == "manual"
    assert (
        supervisor_api.post(f"/api/requests/{two_lines}/send", json={"via": "fax"}).status_code
        == 400
    )


def test_smtplib_reports_what_the_fixture_server_refuses(smtp: SmtpServer) -> None:
    # The fixture itself: a refusal really is an SMTP refusal, not a test shortcut.
    smtp.inbox.rcpt_reply = "550 nope"
    with (
        smtplib.SMTP("127.0.0.1", smtp.port, timeout=5) as client,
        pytest.raises(smtplib.SMTPRecipientsRefused),
    ):
        client.sendmail("a@b.example", ["c@d.example"], "Subject: x\r\n\r\nx")


def test_lines_sent_are_the_lines_emailed(smtp: SmtpServer, two_lines: int) -> None:
    sending.send_by_email(two_lines, _mail())
    sent_lines = db.session.scalars(
        sa.select(RequestLine).where(RequestLine.request_id == two_lines)
    ).all()
    assert {line.status for line in sent_lines} == {"open"}
    csv_rows = smtp.inbox.messages[0].attachment(".csv").decode("utf-8-sig").splitlines()
    assert len(csv_rows) == 1 + len(sent_lines)


def test_the_site_details_come_from_their_kanban_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KANBAN_COMPANY_NAME", "Plant Example Ltd")
    monkeypatch.setenv("KANBAN_DELIVERY_ADDRESS", "Goods in; 1 Mill Lane ;Leeds LS1 4AP")
    monkeypatch.setenv("KANBAN_BUYER_NAME", "Sam Buyer")
    monkeypatch.setenv("KANBAN_BUYER_EMAIL", "buying@plant.example")
    monkeypatch.setenv("KANBAN_BUYER_PHONE", "+44 113 496 0000")
    monkeypatch.setenv("KANBAN_TERMS", "Net 30.")
    settings = sending.MailSettings.from_config(
        config.load({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
    )
    assert settings.site == SiteDetails(
        company="Plant Example Ltd",
        delivery_address=("Goods in", "1 Mill Lane", "Leeds LS1 4AP"),
        buyer_name="Sam Buyer",
        buyer_email="buying@plant.example",
        buyer_phone="+44 113 496 0000",
        terms="Net 30.",
    )
