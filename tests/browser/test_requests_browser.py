"""The whole replenishment loop in Chromium, with a real server and a real SMTP inbox:
pulls → draft → supervisor sends by email → delivery scanned in → card stocked again."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests as http
from flask import Flask

from ..conftest import LiveServer, start_server, stop_server
from ..smtp_server import SmtpServer
from .conftest import login


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def mail_server(app: Flask, db_url: str, instance: Path, smtp: SmtpServer) -> Iterator[LiveServer]:
    """``kanban serve`` with KANBAN_SMTP_URL pointing at the test inbox."""
    server = start_server(
        db_url,
        instance,
        extra_env={"KANBAN_SMTP_URL": smtp.url(), "KANBAN_MAIL_FROM": "kanban@plant.example"},
    )
    yield server
    stop_server(server)


def test_pulls_draft_email_receipt_and_card_stocked_again(
    browser: Any,
    mail_server: LiveServer,
    smtp: SmtpServer,
    make_bin: Callable[..., str],
    make_user: Callable[..., str],
    make_token: Callable[..., str],
    artifacts_dir: Path,
) -> None:
    base = mail_server.url
    make_bin("A-1", on_hand=6, card=5, order=10, sku="BOLT-M6")
    scanner = {"Authorization": f"Bearer {make_token('operator')}"}

    # Two pulls through the API take the bin below its card quantity.
    for _ in range(2):
        resp = http.post(f"{base}/api/scans", json={"code": "A-1"}, headers=scanner, timeout=10)
        assert resp.status_code == 201
    body = resp.json()
    assert body["bin"]["state"] == "replenish" and body["request"]["status"] == "draft"
    req_id = body["request"]["id"]

    context = browser.new_context()
    try:
        page = context.new_page()
        name = make_user("sam", "supervisor")
        login(page, base, name, f"password-{name}")

        # The draft is on the requests page; the supervisor opens and sends it.
        page.goto(f"{base}/requests")
        row = page.locator(f'tr[data-request="{req_id}"]')
        assert row.get_attribute("data-status") == "draft"
        row.locator("a").first.click()
        page.wait_for_url(f"{base}/requests/{req_id}")
        assert page.locator('tr[data-bin-code="A-1"]').count() == 1
        page.on("dialog", lambda dialog: dialog.accept())  # "Email REQ-… to …?"
        page.click("#send-email")
        page.wait_for_selector('#request-status[data-status="sent"]')
        assert "was emailed to orders@acme.example" in page.locator(".flash").inner_text()
        page.screenshot(path=str(artifacts_dir / "request-sent.png"), full_page=True)

        # The supplier's email arrived with the request attached.
        assert smtp.inbox.arrived.wait(10)
        [got] = smtp.inbox.messages
        assert got.rcpt_tos == ["orders@acme.example"]
        rows = list(csv.DictReader(io.StringIO(got.attachment(".csv").decode("utf-8-sig"))))
        assert [(r["sku"], r["quantity"]) for r in rows] == [("BOLT-M6", "10")]

        page.goto(f"{base}/board")
        assert page.locator('[data-bin="A-1"]').get_attribute("data-state") == "ordered"

        # The delivery is scanned in (quantity defaults to what is open) ...
        resp = http.post(
            f"{base}/api/scans",
            json={"code": "A-1", "mode": "receive"},
            headers=scanner,
            timeout=10,
        )
        assert resp.status_code == 201 and resp.json()["quantity"] == 10

        # ... and the card is stocked again.
        page.goto(f"{base}/board")
        card = page.locator('[data-bin="A-1"]')
        assert card.get_attribute("data-state") == "stocked"
        page.goto(f"{base}/requests/{req_id}")
        assert page.locator("#request-status").get_attribute("data-status") == "received"
    finally:
        context.close()
