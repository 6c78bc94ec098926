"""The master-data forms in a real Chromium: a refused field shown beside it, two people
saving the same record, and a bin created by scanning its unknown code (issue 14)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from playwright.sync_api import expect

from kanban.catalog.views import get_bin
from kanban.extensions import db
from kanban.models import Bin, Supplier

from ..conftest import LiveServer

TIMEOUT = 15_000  # ms


def watch(page: Any) -> list[str]:
    """Script errors and console errors of the page (there must be none). Chromium also
    logs each 4xx answer as a console error: those are the answers the tests expect."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def console(m: Any) -> None:
        if m.type == "error" and not m.text.startswith("Failed to load resource"):
            errors.append(m.text)

    page.on("console", console)
    return errors


def test_a_refused_field_is_shown_beside_it_and_nothing_is_saved(
    logged_in: Callable[..., Any], live_server: LiveServer, artifacts_dir: Path
) -> None:
    page = logged_in("supervisor")
    errors = watch(page)
    page.goto(f"{live_server.url}/suppliers")
    page.click("text=New supplier")
    page.fill("#f-name", "Acme")
    page.fill("#f-email", "orders-at-acme")
    page.fill("#f-lead_time_days", "5")
    page.click("button:has-text('Create')")
    error = page.locator('[data-field="email"] .field-error')
    expect(error).to_have_text("Email is not an email address (name@example.com).", timeout=TIMEOUT)
    expect(page.locator("#f-email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-email")).to_have_value("orders-at-acme")
    expect(page.locator('[data-field="name"] .field-error')).to_have_count(0)
    page.screenshot(path=str(artifacts_dir / "masterdata-field-error.png"), full_page=True)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Supplier.id))) == 0
    page.fill("#f-email", "orders@acme.example")
    page.click("button:has-text('Create')")
    expect(page.locator(".flash")).to_have_text("Supplier Acme created.", timeout=TIMEOUT)
    assert errors == []


def test_the_second_of_two_people_saving_a_bin_is_refused_and_sees_the_first_change(
    logged_in: Callable[..., Any],
    make_bin: Callable[..., str],
    live_server: LiveServer,
    artifacts_dir: Path,
) -> None:
    make_bin("A-1", on_hand=10, card=5, order=20)
    ann = logged_in("supervisor", "ann")
    bob = logged_in("supervisor", "bob")
    for page in (ann, bob):
        page.goto(f"{live_server.url}/bins/A-1/edit")
    ann.fill("#f-order_quantity", "30")
    ann.click("button:has-text('Save')")
    expect(ann.locator(".flash")).to_have_text(
        "Bin A-1 saved; its card is stocked.", timeout=TIMEOUT
    )
    bob.fill("#f-order_quantity", "50")
    bob.click("button:has-text('Save')")
    message = bob.locator("#form-message")
    expect(message).to_contain_text("This bin was changed by ann at", timeout=TIMEOUT)
    expect(message).to_contain_text("Nothing was saved")
    expect(bob.locator("#f-order_quantity")).to_have_value("30")  # what is there now
    bob.screenshot(path=str(artifacts_dir / "masterdata-conflict.png"), full_page=True)
    db.session.rollback()
    assert get_bin("A-1").order_quantity == 30
    bob.fill("#f-order_quantity", "50")  # decided again, on what is there now
    bob.click("button:has-text('Save')")
    expect(bob.locator(".flash")).to_have_text(
        "Bin A-1 saved; its card is stocked.", timeout=TIMEOUT
    )
    db.session.rollback()
    assert get_bin("A-1").order_quantity == 50


def test_a_supervisor_creates_a_bin_by_scanning_its_unknown_code(
    logged_in: Callable[..., Any],
    make_bin: Callable[..., str],
    live_server: LiveServer,
    artifacts_dir: Path,
) -> None:
    make_bin("A-1", sku="BOLT-M6", zone="Aisle B")
    page = logged_in("supervisor")
    errors = watch(page)
    page.goto(f"{live_server.url}/scan")
    page.wait_for_selector("#scan-app[data-ready=true]", timeout=TIMEOUT)
    page.keyboard.type("b-02-07\n", delay=5)
    page.wait_for_selector("#scan-result[data-outcome=error]", timeout=TIMEOUT)
    link = page.locator("#scan-create")
    expect(link).to_be_visible(timeout=TIMEOUT)
    expect(link).to_have_text("✚ Create bin B-02-07")
    page.screenshot(path=str(artifacts_dir / "scan-unknown-create.png"), full_page=True)
    link.click()
    expect(page.locator("h1")).to_have_text("New bin", timeout=TIMEOUT)
    expect(page.locator("#f-code")).to_have_value("B-02-07")
    page.select_option("#f-item_id", label="BOLT-M6 · Part in A-1")
    page.select_option("#f-zone_id", label="Aisle B")
    page.fill("#f-card_quantity", "4")
    page.fill("#f-order_quantity", "12")
    page.fill("#f-on_hand", "10")
    page.click("button:has-text('Create')")
    expect(page.locator(".flash")).to_have_text(
        "Bin B-02-07 created; its card is stocked.", timeout=TIMEOUT
    )
    expect(page.locator("#label-offer")).to_contain_text("Print the new bin's label")
    db.session.rollback()
    b = db.session.scalar(sa.select(Bin).where(Bin.code == "B-02-07"))
    assert b is not None and (b.on_hand, b.item.sku, b.zone.name) == (10, "BOLT-M6", "Aisle B")
    # Now it scans.
    page.goto(f"{live_server.url}/scan")
    page.wait_for_selector("#scan-app[data-ready=true]", timeout=TIMEOUT)
    page.keyboard.type("B-02-07\n", delay=5)
    page.wait_for_selector("#scan-result[data-outcome=ok]", timeout=TIMEOUT)
    expect(page.locator("#scan-create")).to_be_hidden()
    assert errors == []


def test_an_operator_scanning_an_unknown_code_gets_no_offer(
    logged_in: Callable[..., Any], live_server: LiveServer
) -> None:
    page = logged_in("operator")
    page.goto(f"{live_server.url}/scan")
    page.wait_for_selector("#scan-app[data-ready=true]", timeout=TIMEOUT)
    page.keyboard.type("B-02-07\n", delay=5)
    page.wait_for_selector("#scan-result[data-outcome=error]", timeout=TIMEOUT)
    expect(page.locator("#scan-result")).to_contain_text("Unknown code")
    expect(page.locator("#scan-create")).to_be_hidden()
