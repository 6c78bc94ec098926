"""The bins spreadsheet in a real Chromium: download, edit, preview, import."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from ..conftest import LiveServer

TIMEOUT = 15_000  # ms


def test_a_supervisor_downloads_edits_previews_and_imports_the_spreadsheet(
    logged_in: Callable[..., Any],
    make_bin: Callable[..., str],
    live_server: LiveServer,
    tmp_path: Path,
    artifacts_dir: Path,
) -> None:
    make_bin("A-1", on_hand=7, card=3, order=12, supplier="Acme", sku="S-A1")
    page = logged_in("supervisor")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/")
    page.click("nav >> text=Spreadsheet")
    expect(page.locator("h1")).to_have_text("Bins spreadsheet")

    with page.expect_download() as download:
        page.click("text=Download every bin (CSV)")
    sheet = tmp_path / "bins.csv"
    download.value.save_as(sheet)
    text = sheet.read_text()
    assert text.splitlines()[1].startswith("A-1,S-A1,Part in A-1,")
    sheet.write_text(
        text.replace(",7,3,12,", ",7,9,12,")
        + "N-1,S-N1,New part,Dock,Acme,orders@acme.example,5,2,10,1,4\n"
    )

    page.set_input_files("#sheet-file", str(sheet))
    page.click("button[value=preview]")
    result = page.locator("#sheet-result")
    expect(result).to_have_attribute("data-ok", "true", timeout=TIMEOUT)
    expect(page.locator('tr[data-bin="A-1"]')).to_contain_text("card quantity 3 → 9")
    expect(page.locator('tr[data-bin="N-1"]')).to_contain_text("new bin")
    page.screenshot(path=str(artifacts_dir / "spreadsheet-preview.png"), full_page=True)

    page.click("button[value=import]")
    expect(page.locator(".flash")).to_contain_text(
        "Imported 2 rows: 1 bin created, 1 updated, 0 unchanged."
    )
    page.goto(f"{live_server.url}/")
    expect(page.locator('.card[data-bin="A-1"]')).to_have_attribute("data-state", "replenish")
    expect(page.locator('.card[data-bin="N-1"]')).to_have_attribute("data-state", "stocked")
    assert errors == []
