"""The labels page in Chromium: a real preview, live count, and a print view that prints
labels at their physical size."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pypdf
import zxingcpp

from ..barcodes.test_labels import rasterise

IMAGES_LOADED = """(sel) => {
  const imgs = Array.from(document.querySelectorAll(sel));
  return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
}"""


def test_labels_page_previews_and_print_view_prints_the_labels(
    logged_in: Callable[..., Any],
    make_bin: Callable[..., str],
    live_server: Any,
    artifacts_dir: Path,
) -> None:
    make_bin("A-01", zone="Aisle A", supplier="Acme")
    make_bin("A/02", zone="Aisle A", supplier="Bolt & Co", on_hand=1, card=5)
    make_bin("B-01", zone="Aisle B", supplier="Acme")
    page = logged_in("supervisor")
    page.goto(f"{live_server.url}/labels?zone=Aisle+A")

    # The preview is a real image of the first label, rendered by the server.
    page.wait_for_function(IMAGES_LOADED, arg="img[data-preview]")
    width = page.eval_on_selector("img[data-preview]", "i => i.naturalWidth")
    assert width == 750  # 63.5 mm at 300 dpi
    assert page.text_content("[data-summary]") == "2 labels, 1 page"
    assert page.text_content("[data-first-code]") == "A-01"

    # Changing the form updates the count and the links without a reload.
    page.fill("input[name=copies]", "2")
    page.wait_for_function(
        "() => document.querySelector('[data-summary]').textContent === '4 labels, 1 page'"
    )
    assert "copies=2" in (page.get_attribute("a[data-link=print]", "href") or "")
    assert "copies=2" in page.url  # the address keeps the selection
    page.screenshot(path=str(artifacts_dir / "labels-page.png"), full_page=True)

    page.click("a[data-link=print]")
    page.wait_for_url("**/labels/print?**")
    page.wait_for_function(IMAGES_LOADED, arg=".label-cell img")
    cells = page.eval_on_selector_all(".label-cell[data-bin]", "cs => cs.map(c => c.dataset.bin)")
    assert cells == ["A-01", "A-01", "A/02", "A/02"]
    # Each label is laid out at its physical size: 63.5 mm = 240 CSS px.
    box = page.locator(".label-cell[data-bin]").first.bounding_box()
    assert box is not None and round(box["width"]) == 240 and round(box["height"]) == 128
    page.screenshot(path=str(artifacts_dir / "labels-print-view.png"), full_page=True)

    # The Print button (wired by labels.js, no inline script) opens the Print dialog.
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    page.click("button[data-print]")
    assert page.evaluate("() => window.printed") == 1

    # Printed with the page's own CSS: one A4 sheet, toolbar hidden, barcodes readable.
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) == 1
    assert (round(float(pages[0].mediabox.width)), round(float(pages[0].mediabox.height))) == (
        595,
        842,
    )  # A4 in points
    found = sorted(r.text for r in zxingcpp.read_barcodes(rasterise(pdf, 300)[0]))
    assert found == ["A-01", "A-01", "A/02", "A/02"]


def test_an_error_in_the_selection_disables_the_buttons_and_the_file_matches_the_count(
    logged_in: Callable[..., Any],
    make_bin: Callable[..., str],
    live_server: Any,
    tmp_path: Path,
) -> None:
    for code in ("A-01", "A-02", "B-01"):
        make_bin(code)
    page = logged_in("supervisor")
    page.goto(f"{live_server.url}/labels")
    page.wait_for_function(IMAGES_LOADED, arg="img[data-preview]")
    assert page.text_content("[data-summary]") == "3 labels, 1 page"

    # One unknown code: the error is shown and nothing of the old selection can be had.
    page.fill("textarea[name=bins]", "A-01 NOPE-1")
    error = page.locator("[data-error]")
    error.wait_for(state="visible")
    assert "NOPE-1" in error.inner_text()
    assert not page.locator("[data-summary]").is_visible()
    for link in ("pdf", "print", "zpl203", "zpl300"):
        button = page.locator(f"a[data-link={link}]")
        assert button.get_attribute("href") is None
        assert button.get_attribute("aria-disabled") == "true"
        assert not button.is_visible()

    # Fixed: the count and the buttons come back for the new selection, and the file has
    # exactly the labels the page counts.
    page.fill("textarea[name=bins]", "A-01 B-01")
    page.wait_for_function(
        "() => document.querySelector('[data-summary]').textContent === '2 labels, 1 page'"
    )
    assert page.locator("[data-error]").is_hidden()
    assert page.get_attribute("a[data-link=pdf]", "aria-disabled") is None
    with page.expect_download() as download:
        page.click("a[data-link=pdf]")
    path = tmp_path / "labels.pdf"
    download.value.save_as(path)
    pdf = path.read_bytes()
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) == 1
    assert sorted(r.text for r in zxingcpp.read_barcodes(rasterise(pdf, 300)[0])) == [
        "A-01",
        "B-01",
    ]
