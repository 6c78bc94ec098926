"""The supplier requests and suppliers pages: review, send, receive, lead times, roles."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from kanban.extensions import db
from kanban.models import Bin, RequestLine, Supplier, SupplierRequest
from kanban.purchasing import requests

from ..conftest import Api
from ..smtp_server import SmtpServer


class Element:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Element | None) -> None:
        self.tag, self.attrs, self.text, self.parent = tag, attrs, "", parent


class Page(HTMLParser):
    """Every element of a page with its attributes and the text inside it."""

    VOID = {"img", "input", "br", "meta", "link", "hr"}

    def __init__(self, html: str, status: int = 200) -> None:
        super().__init__()
        self.status = status
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, dict(attrs), self._open[-1] if self._open else None)
        self.elements.append(el)
        if tag not in self.VOID:
            self._open.append(el)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for el in self._open:
            el.text += data

    def find(self, tag: str | None = None, **attrs: str | None) -> list[Element]:
        """Elements of ``tag`` whose attributes include ``attrs`` (``_`` for ``-``)."""
        want = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [
            el
            for el in self.elements
            if (tag is None or el.tag == tag)
            and all(k in el.attrs and (v is None or el.attrs[k] == v) for k, v in want.items())
        ]

    def one(self, tag: str | None = None, **attrs: str | None) -> Element:
        found = self.find(tag, **attrs)
        assert len(found) == 1, f"{len(found)} matches for {tag} {attrs}"
        return found[0]

    def cells(self, row: Element) -> list[str]:
        """The texts of a table row's cells, whitespace folded."""
        return [
            " ".join(el.text.split())
            for el in self.elements
            if el.parent is row and el.tag in ("td", "th")
        ]

    def flashes(self) -> list[str]:
        return [
            " ".join(el.text.split())
            for el in self.elements
            if "flash" in (el.attrs.get("class") or "")
        ]


def page(client: FlaskClient, path: str) -> Page:
    resp = client.get(path)
    assert resp.status_code == 200, resp.status_code
    return Page(resp.get_data(as_text=True))


def login(client: FlaskClient, make_user: Callable[..., str], role: str) -> str:
    name = make_user(f"{role}1", role)
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert token is not None
    resp = client.post(
        "/login",
        data={"username": name, "password": f"password-{name}", "csrf_token": token.group(1)},
    )
    assert resp.status_code == 302
    return name


def post(client: FlaskClient, path: str, follow: bool = True, **data: object) -> Page:
    html = client.get("/requests").get_data(as_text=True)
    token = Page(html).one("meta", name="csrf-token").attrs["content"]
    resp = client.post(path, data={"csrf_token": token, **data}, follow_redirects=follow)
    return Page(resp.get_data(as_text=True), resp.status_code)


def flip(api: Api, code: str) -> int:
    body = api.scan(code).get_json()
    assert body["flipped"], body
    return int(body["request"]["id"])


def line_id(code: str) -> int:
    db.session.rollback()
    found = db.session.scalar(
        sa.select(RequestLine.id).join(Bin).where(Bin.code == code).order_by(RequestLine.id.desc())
    )
    assert found is not None
    return int(found)


def bin_state(code: str) -> str:
    db.session.rollback()
    return str(db.session.scalar(sa.select(Bin.state).where(Bin.code == code)))


@pytest.fixture
def draft(api: Api, make_bin: Callable[..., str]) -> int:
    """A draft for Acme with bins A-1 (order 10) and B-1 (order 6, packs of 3)."""
    make_bin("A-1", on_hand=5, card=5, order=10, lead_time_days=5)
    make_bin("B-1", on_hand=5, card=5, order=6, pack=3)
    req_id = flip(api, "A-1")
    flip(api, "B-1")
    return req_id


# ---------------------------------------------------------------------- viewing


@pytest.mark.parametrize(
    "path",
    [
        "/requests",
        "/requests/1",
        "/suppliers",
        "/suppliers/1",
        "/requests/1.pdf",
        "/requests/1.csv",
    ],
)
def test_pages_need_login(client: FlaskClient, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_drafts_tab_lists_one_draft_per_supplier_with_totals(
    client: FlaskClient,
    make_user: Callable[..., str],
    api: Api,
    make_bin: Callable[..., str],
    draft: int,
) -> None:
    make_bin("C-1", on_hand=5, card=5, supplier="Bolt Co", order=4)
    other = flip(api, "C-1")
    login(client, make_user, "operator")
    p = page(client, "/requests")
    assert p.one("a", data_tab="draft").attrs.get("aria-current") == "page"
    rows = {el.attrs["data-request"]: el for el in p.find("tr", data_request=None)}
    assert set(rows) == {str(draft), str(other)}
    assert p.cells(rows[str(draft)])[:5] == [
        requests.request_number(draft),
        "Acme Fasteners",
        "✎ Draft",
        "2",
        "16 ea",
    ]  # 10 + 6
    only_bolt = page(client, f"/requests?status=draft&supplier={_supplier_id('Bolt Co')}")
    assert [el.attrs["data-request"] for el in only_bolt.find("tr", data_request=None)] == [
        str(other)
    ]
    assert page(client, "/requests?status=sent").find("tr", data_request=None) == []


def _supplier_id(name: str) -> int:
    db.session.rollback()
    return int(db.session.scalar(sa.select(Supplier.id).where(Supplier.name == name)) or 0)


def test_request_page_shows_lines_why_and_totals(
    client: FlaskClient, make_user: Callable[..., str], draft: int
) -> None:
    login(client, make_user, "operator")
    p = page(client, f"/requests/{draft}")
    lines = p.find("tr", data_line=None)
    assert [el.attrs["data-bin-code"] for el in lines] == ["A-1", "B-1"]
    assert "4 on hand < card 5 · pull by" in lines[0].text  # why the line exists
    assert p.one(id="total-quantity").text.strip() == "16 ea"
    assert p.one(id="request-status").attrs["data-status"] == "draft"


def test_operator_may_look_but_not_change(
    client: FlaskClient, make_user: Callable[..., str], draft: int
) -> None:
    login(client, make_user, "operator")
    p = page(client, f"/requests/{draft}")
    assert p.find("form", action=f"/requests/{draft}/send") == []
    assert p.find("input", name="quantity") == []
    lid = line_id("A-1")
    for path in (
        f"/requests/{draft}/lines/{lid}/quantity",
        f"/requests/{draft}/lines/{lid}/remove",
        f"/requests/{draft}/send",
        f"/suppliers/{_supplier_id('Acme Fasteners')}/auto-send",
    ):
        assert (
            post(client, path, follow=False, quantity=20, via="manual", auto_send="1").status == 403
        )
    db.session.rollback()
    assert db.session.get(SupplierRequest, draft).status == "draft"  # type: ignore[union-attr]
    assert db.session.get(RequestLine, lid).quantity == 10  # type: ignore[union-attr]


def test_unknown_request_is_a_404_page(client: FlaskClient, make_user: Callable[..., str]) -> None:
    login(client, make_user, "operator")
    resp = client.get("/requests/999")
    assert resp.status_code == 404 and "No supplier request has this id." in resp.get_data(
        as_text=True
    )
    assert resp.mimetype == "text/html"


# ---------------------------------------------------------------------- review


def test_supervisor_edits_a_quantity(
    client: FlaskClient, make_user: Callable[..., str], draft: int
) -> None:
    login(client, make_user, "supervisor")
    lid = line_id("B-1")
    p = post(client, f"/requests/{draft}/lines/{lid}/quantity", quantity="12")
    assert "Bin B-1: quantity set to 12." in p.flashes()
    assert p.one("tr", data_line=str(lid)).attrs["data-line-status"] == "open"
    qty = [el for el in p.find("input", name="quantity") if el.attrs.get("step") == "3"]
    assert [el.attrs["value"] for el in qty] == ["12"]
    bad = post(client, f"/requests/{draft}/lines/{lid}/quantity", quantity="7")
    assert any("packs of 3" in f for f in bad.flashes())
    nonsense = post(client, f"/requests/{draft}/lines/{lid}/quantity", quantity="-1")
    assert any("whole number" in f for f in nonsense.flashes())
    db.session.rollback()
    assert db.session.get(RequestLine, lid).quantity == 12  # type: ignore[union-attr]


def test_supervisor_removes_a_line_and_the_card_waits_on_hold(
    client: FlaskClient, make_user: Callable[..., str], draft: int
) -> None:
    login(client, make_user, "supervisor")
    lid = line_id("A-1")
    p = post(client, f"/requests/{draft}/lines/{lid}/remove")
    assert any("removed from the request" in f for f in p.flashes())
    row = p.one("tr", data_line=str(lid))
    assert row.attrs["data-line-status"] == "cancelled" and "Removed" in row.text
    assert p.one(id="total-quantity").text.strip() == "6 ea"
    assert bin_state("A-1") == "stocked"
    board = page(client, "/board")
    assert board.one(data_bin="A-1").attrs["data-state"] == "stocked"


def test_mark_sent_after_downloading(
    client: FlaskClient, make_user: Callable[..., str], draft: int
) -> None:
    login(client, make_user, "supervisor")
    pdf = client.get(f"/requests/{draft}.pdf")
    number = requests.request_number(draft)
    assert pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"] == (
        f'attachment; filename="supplier-request-{number}.pdf"'
    )
    text = "".join(pg.extract_text() for pg in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "SKU-A-1" in text and "SKU-B-1" in text
    assert (
        client.get(f"/requests/{draft}.pdf?inline=1")
        .headers["Content-Disposition"]
        .startswith("inline")
    )
    rows = list(
        csv.DictReader(io.StringIO(client.get(f"/requests/{draft}.csv").data.decode("utf-8-sig")))
    )
    assert [(r["bin"], r["quantity"]) for r in rows] == [("A-1", "10"), ("B-1", "6")]

    shown = page(client, f"/requests/{draft}")
    forms = shown.find("form", action=f"/requests/{draft}/send")
    assert ["Mark as sent" in f.text for f in forms] == [True]  # no SMTP: no email button
    ids = [el.attrs["value"] for el in shown.find("input", name="line_id")]
    assert ids == [str(line_id("A-1")), str(line_id("B-1"))]
    p = post(client, f"/requests/{draft}/send", via="manual", line_id=ids)
    assert f"{number} is marked as sent." in p.flashes()
    assert p.one(id="request-status").attrs["data-status"] == "sent"
    expected = (dt.datetime.now(dt.UTC) + dt.timedelta(days=5)).date().isoformat()
    assert p.one(id="expected-date").text.strip().startswith(expected)
    assert bin_state("A-1") == bin_state("B-1") == "ordered"
    again = post(client, f"/requests/{draft}/send", via="manual", line_id=ids)
    assert any("not a draft" in f for f in again.flashes())


def test_email_send_failure_is_shown_on_the_page(
    app: Flask, client: FlaskClient, make_user: Callable[..., str], draft: int
) -> None:
    login(client, make_user, "supervisor")
    with SmtpServer() as smtp:
        app.config["SMTP_URL"] = smtp.url()
        smtp.inbox.rcpt_reply = "550 5.1.1 <orders@acme.example>: Recipient address rejected"
        p = post(client, f"/requests/{draft}/send", via="email")
        assert any("Not sent" in f and "Recipient address rejected" in f for f in p.flashes())
        box = p.one(id="send-error")
        assert "Recipient address rejected" in box.text and "still a draft" in box.text
        assert p.one(id="request-status").attrs["data-status"] == "draft"
        assert bin_state("A-1") == "replenish"
        # The list shows it too, and a retry that works clears it.
        listed = page(client, "/requests")
        assert listed.one("tr", data_request=str(draft)).text.count("Not sent") == 1
        smtp.inbox.rcpt_reply = None
        ok = post(client, f"/requests/{draft}/send", via="email")
        assert f"{requests.request_number(draft)} was emailed to orders@acme.example." in (
            ok.flashes()
        )
        assert ok.find(id="send-error") == []
        assert len(smtp.inbox.messages) == 1


def test_without_smtp_the_page_offers_only_mark_as_sent(
    client: FlaskClient, make_user: Callable[..., str], draft: int
) -> None:
    login(client, make_user, "supervisor")
    p = page(client, f"/requests/{draft}")
    assert p.find("button", id="send-email") == []
    assert len(p.find("button", id="mark-sent")) == 1
    assert p.one("span", id="no-email").text.startswith("Email is not set up: ask your admin.")
    refused = post(client, f"/requests/{draft}/send", via="email")
    assert refused.flashes() == [
        "Email is not set up: ask your admin to set it up. Meanwhile download or print the "
        "request, send it yourself and mark it sent."
    ]


def test_admins_are_told_which_setting_sets_up_email(
    client: FlaskClient, make_user: Callable[..., str], draft: int
) -> None:
    login(client, make_user, "admin")
    p = page(client, f"/requests/{draft}")
    assert "KANBAN_SMTP_URL" in p.one("span", id="no-email").text
    refused = post(client, f"/requests/{draft}/send", via="email")
    [said] = refused.flashes()
    assert said.startswith("Email is not set up: ask your admin") and "KANBAN_SMTP_URL" in said


def test_the_downloaded_pdf_carries_the_site_details(
    app: Flask, client: FlaskClient, make_user: Callable[..., str], draft: int
) -> None:
    app.config.update(
        COMPANY_NAME="Plant Example Ltd",
        DELIVERY_ADDRESS="Goods in\\n1 Mill Lane",
        BUYER_NAME="Sam Buyer",
        TERMS="Net 30.",
    )
    login(client, make_user, "supervisor")
    pdf = PdfReader(io.BytesIO(client.get(f"/requests/{draft}.pdf").data))
    text = " ".join(" ".join(pg.extract_text() for pg in pdf.pages).split())
    assert "Buyer Plant Example Ltd" in text
    assert "Deliver to Plant Example Ltd Goods in 1 Mill Lane" in text
    assert "Contact Sam Buyer <kanban@localhost>" in text  # no buyer email: the sender
    assert "Terms Net 30." in text


# -------------------------------------------------------------------- receiving


def test_receive_on_the_page_partial_then_over_receipt_confirmed(
    client: FlaskClient, make_user: Callable[..., str], supervisor_api: Api, draft: int
) -> None:
    supervisor_api.post(f"/api/requests/{draft}/send")
    login(client, make_user, "operator")
    lid = line_id("A-1")
    shown = page(client, f"/requests/{draft}")
    assert len(shown.find("form", action=f"/requests/{draft}/lines/{lid}/receive")) == 1
    qty = [el for el in shown.find("input", name="quantity") if el.attrs.get("max") == "1000000"]
    assert qty[0].attrs["value"] == "10"  # defaults to what is still open
    sid = [el.attrs["value"] for el in shown.find("input", name="scan_id")][0]
    p = post(client, f"/requests/{draft}/lines/{lid}/receive", quantity="4", scan_id=sid)
    assert "Received 4 for bin A-1: 8 on hand, card Ordered." in p.flashes()
    twice = post(client, f"/requests/{draft}/lines/{lid}/receive", quantity="4", scan_id=sid)
    assert any("(already booked)" in f for f in twice.flashes())
    cells = twice.cells(twice.one("tr", data_line=str(lid)))
    assert cells[5:8] == ["10", "4", "6"]  # ordered, received, still open

    confirm = post(
        client, f"/requests/{draft}/lines/{lid}/receive", quantity="20", scan_id="page-rcv-2"
    )
    assert confirm.status == 409
    assert "Only 6 ea of bin A-1" in confirm.one(id="over-receipt").text
    assert {
        el.attrs["name"]: el.attrs["value"]
        for el in confirm.find("input", type="hidden")
        if el.attrs["name"] != "csrf_token"
    } == {"scan_id": "page-rcv-2", "quantity": "20", "confirm": "1"}
    db.session.rollback()
    assert db.session.scalar(sa.select(Bin.on_hand).where(Bin.code == "A-1")) == 8
    done = post(
        client,
        f"/requests/{draft}/lines/{lid}/receive",
        quantity="20",
        scan_id="page-rcv-2",
        confirm="1",
    )
    assert "Received 20 for bin A-1: 28 on hand, card Stocked." in done.flashes()
    assert done.one("tr", data_line=str(lid)).attrs["data-line-status"] == "received"


def test_api_receive_over_remaining_needs_confirm(
    api: Api, supervisor_api: Api, draft: int
) -> None:
    supervisor_api.post(f"/api/requests/{draft}/send")
    refused = api.scan("A-1", mode="receive", quantity=11)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "over_receipt"
    assert api.get("/api/bins/A-1").get_json()["on_hand"] == 4
    assert api.scan("A-1", mode="receive", quantity=11, confirm="yes").status_code == 400
    ok = api.scan("A-1", mode="receive", quantity=11, confirm=True)
    assert ok.status_code == 201 and ok.get_json()["bin"]["on_hand"] == 15
    assert api.scan("B-1", mode="receive").status_code == 201  # defaults to what is open


# -------------------------------------------------------------- overdue, suppliers


def _backdate_sent(request_id: int, days: int) -> None:
    today = dt.datetime.now(dt.UTC).date()
    db.session.execute(
        sa.update(SupplierRequest)
        .where(SupplierRequest.id == request_id)
        .values(expected_date=today - dt.timedelta(days=days))
    )
    db.session.commit()


def test_overdue_requests_are_flagged_in_the_lists(
    client: FlaskClient, make_user: Callable[..., str], supervisor_api: Api, draft: int
) -> None:
    supervisor_api.post(f"/api/requests/{draft}/send")
    _backdate_sent(draft, 3)
    login(client, make_user, "operator")
    sent = page(client, "/requests?status=sent")
    row = sent.one("tr", data_request=str(draft))
    assert row.attrs.get("data-overdue") == "1" and "⚠ Overdue · 3 days" in row.text
    overdue = page(client, "/requests?status=overdue")
    assert [el.attrs["data-request"] for el in overdue.find("tr", data_request=None)] == [
        str(draft)
    ]
    assert "3 days late" in page(client, f"/requests/{draft}").one(id="expected-date").text
    board = page(client, "/board")
    assert board.one(data_bin="A-1").attrs["data-state"] == "ordered"


def test_supplier_pages_show_measured_lead_times(
    client: FlaskClient, make_user: Callable[..., str], supervisor_api: Api, api: Api, draft: int
) -> None:
    supervisor_api.post(f"/api/requests/{draft}/send")
    api.scan("A-1", mode="receive")
    api.scan("B-1", mode="receive")
    t0 = dt.datetime(2024, 3, 1, 8, tzinfo=dt.UTC)
    ids = {code: line_id(code) for code in ("A-1", "B-1")}
    for code, days in (("A-1", 4), ("B-1", 8)):
        line = db.session.get(RequestLine, ids[code])
        assert line is not None
        line.created_at, line.closed_at = t0, t0 + dt.timedelta(days=1 + days)
        line.request.sent_at = t0 + dt.timedelta(days=1)
    db.session.commit()
    login(client, make_user, "operator")
    sup_id = _supplier_id("Acme Fasteners")
    listed = page(client, "/suppliers")
    assert listed.cells(listed.one("tr", data_supplier=str(sup_id)))[2:6] == [
        "5 d",
        "6.0 d",
        "4.0 d – 8.0 d",
        "2",
    ]  # configured, median, min – max, lines
    p = page(client, f"/suppliers/{sup_id}")
    assert p.cells(p.one("tr", data_leg="sent_to_received")) == [
        "Sent → received (delivery)",
        "2",
        "4.0 d",
        "4.4 d",
        "6.0 d",
        "7.6 d",
        "8.0 d",
    ]
    assert p.cells(p.one("tr", data_leg="total"))[:4] == [
        "Signal → received (replenishment)",
        "2",
        "5.0 d",
        "5.4 d",
    ]
    assert "1.0 d longer than the configured 5 days" in p.one(id="drift").text
    assert len(p.find("tr", data_line=None)) == 2


def test_supervisor_switches_auto_send(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("A-1")
    sup_id = _supplier_id("Acme Fasteners")
    login(client, make_user, "supervisor")
    assert page(client, f"/suppliers/{sup_id}").one(id="auto-send").attrs["data-auto-send"] == "0"
    p = post(client, f"/suppliers/{sup_id}/auto-send", auto_send="1")
    assert p.one(id="auto-send").attrs["data-auto-send"] == "1"
    assert any("emailed as soon as a line is added" in f for f in p.flashes())
    assert "automatic sends will fail" in p.one(id="auto-send").text  # no SMTP configured
    off = post(client, f"/suppliers/{sup_id}/auto-send", auto_send="0")
    assert off.one(id="auto-send").attrs["data-auto-send"] == "0"
