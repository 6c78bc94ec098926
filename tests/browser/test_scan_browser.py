"""The scan station in a real Chromium: USB scanners, camera, photo, commands, offline queue.

Every test drives the page like a warehouse operator would and checks both what the page
shows and what the server recorded (the ledger in the database).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zxingcpp
from PIL import Image

from kanban.barcodes.labels import LabelData, render_png
from kanban.domain.codes import all_commands
from kanban.web.scan import SCAN_CACHE

from ..conftest import LiveServer
from .conftest import CuttableProxy, login
from .scan_page import TIMEOUT, movements, on_hand, open_scan, scan, wait_result, watch

# Like the rest of the suite, these run on SQLite and again on PostgreSQL.


def label_image(code: str) -> Image.Image:
    png = render_png(LabelData(code, "Hex bolt M8", "SKU-1", "Aisle B", 5, 20, "Acme"), dpi=200)
    return Image.open(io.BytesIO(png)).convert("L")


# --------------------------------------------------------------------------- USB scanners


def test_usb_scan_at_scanner_speed_pulls_and_flips_the_card(
    logged_in: Callable[..., Any],
    live_server: LiveServer,
    make_bin: Callable[..., str],
    errors: list[str],
) -> None:
    make_bin("A-01-03", on_hand=5, card=5)
    page = open_scan(watch(logged_in("operator", name="ana"), errors), live_server)
    assert page.evaluate("() => document.activeElement.id") == "scan-code"
    scan(page, "A-01-03")
    text = wait_result(page, "ok", "A-01-03")
    assert "✔" in text and "Pulled 1" in text
    assert "On hand 4 · card 5" in text
    assert "Replenish" in text and "Card flipped to Replenish" in text
    assert page.input_value("#scan-code") == ""  # ready for the next scan

    [m] = movements()
    assert (m.kind, m.quantity, m.on_hand_after, m.source) == ("pull", -1, 4, "usb")
    assert m.state_after == "replenish" and m.flipped and m.actor == "ana"
    # The station's recent list shows it, with Undo for the operator's own scan.
    page.wait_for_selector("#scan-recent .recent-done .r-undo", timeout=TIMEOUT)


def test_burst_with_focus_elsewhere_is_caught_and_a_quick_repeat_is_ignored(
    logged_in: Callable[..., Any],
    live_server: LiveServer,
    make_bin: Callable[..., str],
    errors: list[str],
) -> None:
    # Codes of a real label's length: the page judges a burst by the median gap between
    # its keys, which a three-key code cannot keep when one key of a busy test machine's
    # keyboard arrives late (the median of two gaps is the larger one).
    make_bin("A-01-01", on_hand=10)
    make_bin("B-02-02", on_hand=10)
    page = open_scan(watch(logged_in("operator"), errors), live_server)
    # Focus on the Count button: the scanner's Enter must not press it.
    page.focus("button.mode-count")
    scan(page, "A-01-01")
    wait_result(page, "ok", "A-01-01")
    assert page.get_attribute("button.mode-pull", "aria-pressed") == "true"
    # The same label read again at once (a double read) is ignored.
    page.focus("button.mode-count")
    scan(page, "A-01-01")
    page.wait_for_selector("#scan-notice:not([hidden])", timeout=TIMEOUT)
    assert "ignored" in page.inner_text("#scan-notice")

    # A burst into another field is a scan too, and the field keeps its value.
    page.click(".settings summary")
    page.fill("#scan-station", "Dock 1")
    page.focus("#scan-station")
    scan(page, "B-02-02")
    wait_result(page, "ok", "B-02-02")
    assert page.input_value("#scan-station") == "Dock 1"

    pulls = movements("pull")
    assert [(m.bin.code, m.source) for m in pulls] == [("A-01-01", "usb"), ("B-02-02", "usb")]
    assert on_hand("A-01-01") == 9 and on_hand("B-02-02") == 9


def test_unknown_code_is_a_red_error_shown_as_text_and_changes_nothing(
    logged_in: Callable[..., Any],
    live_server: LiveServer,
    make_bin: Callable[..., str],
    errors: list[str],
) -> None:
    make_bin("A-1", on_hand=10)
    page = open_scan(watch(logged_in("operator"), errors), live_server)
    scan(page, "<img src=x>")
    text = wait_result(page, "error", "Unknown code")
    assert "✖" in text and "Scanned: <img src=x>" in text and "Nothing was changed" in text
    assert page.locator("#scan-result img").count() == 0  # shown as text, never as markup
    # Longer than any code: refused in the page, nothing sent.
    scan(page, "X" * 140)
    wait_result(page, "error", "Code too long")
    assert movements() == [] and on_hand("A-1") == 10


def test_typing_by_hand_and_the_go_button_work_too(
    logged_in: Callable[..., Any],
    live_server: LiveServer,
    make_bin: Callable[..., str],
    errors: list[str],
) -> None:
    make_bin("A-1", on_hand=10)
    page = open_scan(watch(logged_in("operator"), errors), live_server)
    page.click("button.mode-receive")
    page.fill("#scan-qty", "6")
    page.fill("#scan-code", "a-1")
    page.click("button.btn-go")
    wait_result(page, "ok", "Received 6")
    [m] = movements()
    assert (m.kind, m.quantity, m.source) == ("receipt", 6, "form")
    assert page.input_value("#scan-qty") == ""  # a quantity is for one scan


def test_a_refused_quantity_is_cleared_so_the_next_scan_starts_clean(
    logged_in: Callable[..., Any],
    live_server: LiveServer,
    make_bin: Callable[..., str],
    errors: list[str],
) -> None:
    refused = ("-3", "1.5", "2x", "0")
    codes = [f"Q-01-0{n}" for n in range(1, len(refused) + 1)]
    for code in [*codes, "W-01-01", "C-01-01"]:
        make_bin(code, on_hand=50, card=5)
    page = open_scan(watch(logged_in("operator"), errors), live_server)
    for typed, code in zip(refused, codes, strict=True):
        page.fill("#scan-qty", typed)
        page.focus("#scan-code")
        scan(page, code)
        text = wait_result(page, "error", f'"{typed}" was cleared')
        assert "The quantity must be a whole number from 1 to 1000000." in text
        assert page.input_value("#scan-qty") == ""
        # Scanned again at once, it is the retry of that scan (not a double read), and it
        # starts clean: the automatic quantity.
        scan(page, code)
        wait_result(page, "ok", "Pulled 1")
    # Full-width and Arabic-Indic digits are the numbers they show.
    page.fill("#scan-qty", "５")
    page.focus("#scan-code")
    scan(page, "W-01-01")
    wait_result(page, "ok", "Pulled 5")
    page.click("button.mode-count")
    page.fill("#scan-qty", "٠")
    page.focus("#scan-code")
    scan(page, "C-01-01")
    assert "On hand 0" in wait_result(page, "ok", "Counted: 0")
    assert [(m.bin.code, m.quantity) for m in movements("pull")] == [
        *[(code, -1) for code in codes],
        ("W-01-01", -5),
    ]
    assert on_hand("W-01-01") == 45 and on_hand("C-01-01") == 0


# --------------------------------------------------------------------------- command barcodes


# --------------------------------------------------------------------------- command barcodes


def test_command_barcodes_switch_mode_and_quantity_and_undo(
    logged_in: Callable[..., Any],
    live_server: LiveServer,
    make_bin: Callable[..., str],
    errors: list[str],
) -> None:
    make_bin("C-3", on_hand=10, card=5)
    page = open_scan(watch(logged_in("operator"), errors), live_server)
    sent: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: (
            sent.append(r.post_data_json)
            if r.method == "POST" and r.url.endswith("/api/scans")
            else None
        ),
    )

    scan(page, "*KB:MODE:RECEIVE")
    wait_result(page, "command", "Mode: Receive")
    assert page.get_attribute("button.mode-receive", "aria-pressed") == "true"
    scan(page, "*KB:QTY:4")
    wait_result(page, "command", "Quantity 4")
    scan(page, "C-3")
    wait_result(page, "ok", "Received 4")

    scan(page, "*kb:mode:count")  # command texts are read case-insensitively
    wait_result(page, "command", "Mode: Count")
    scan(page, "*KB:QTY:7")
    wait_result(page, "command", "Quantity 7")
    scan(page, "C-3")
    wait_result(page, "ok", "Counted: 7")

    scan(page, "*KB:UNDO")
    wait_result(page, "undo", "On hand 14")

    scan(page, "*KB:MODE:STEAL")
    wait_result(page, "error", "Unknown command")

    # Commands are never sent as scans; the scans carried the mode and quantity.
    assert [(b["code"], b["mode"], b.get("quantity")) for b in sent] == [
        ("C-3", "receive", 4),
        ("C-3", "count", 7),
    ]
    kinds = [(m.kind, m.quantity) for m in movements()]
    assert kinds == [("receipt", 4), ("count", -7), ("undo", 7)]
    assert on_hand("C-3") == 14


def test_undo_button_in_recent_scans_takes_your_scan_back(
    logged_in: Callable[..., Any],
    live_server: LiveServer,
    make_bin: Callable[..., str],
    errors: list[str],
) -> None:
    make_bin("D-4", on_hand=5, card=5)
    page = open_scan(watch(logged_in("operator"), errors), live_server)
    scan(page, "D-4")
    wait_result(page, "ok", "Replenish")
    page.click("#scan-recent .r-undo", timeout=TIMEOUT)
    text = wait_result(page, "undo", "Undone")
    assert "On hand 5" in text and "Stocked" in text
    page.wait_for_selector("#scan-recent .recent-undone", timeout=TIMEOUT)
    assert [m.kind for m in movements()] == ["pull", "undo"] and on_hand("D-4") == 5


def test_command_sheet_barcodes_read_back_from_the_rendered_page(
    logged_in: Callable[..., Any], live_server: LiveServer, errors: list[str]
) -> None:
    # At 4 device pixels per CSS pixel (about 380 dpi), as a printer would render it.
    page = watch(logged_in("operator", device_scale_factor=4), errors)
    page.goto(f"{live_server.url}/scan/commands")
    figures = page.locator("figure.command")
    assert figures.count() == len(all_commands())
    for i, cmd in enumerate(all_commands()):
        shot = figures.nth(i).locator("svg").screenshot()
        img = Image.open(io.BytesIO(shot)).convert("L")
        assert [r.text for r in zxingcpp.read_barcodes(img)] == [cmd.text]


# --------------------------------------------------------------------------- camera and photo


def write_y4m(path: Path, code: str, frames: int = 3) -> None:
    """A fake camera video: the bin's label, rendered by the label code, on a grey frame."""
    w, h = 640, 480
    frame = Image.new("L", (w, h), 128)
    label = label_image(code)
    frame.paste(label, ((w - label.width) // 2, (h - label.height) // 2))
    chroma = bytes([128]) * (w * h // 4)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + frame.tobytes() + chroma + chroma)


def test_live_camera_frames_are_decoded_on_the_server_and_pulled_once(
    launch_chromium: Callable[..., Any],
    live_server: LiveServer,
    make_bin: Callable[..., str],
    make_user: Callable[..., str],
    tmp_path: Path,
    errors: list[str],
) -> None:
    make_bin("E-5", on_hand=10)
    video = tmp_path / "label.y4m"
    write_y4m(video, "E-5")
    browser = launch_chromium(
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )
    page = watch(browser.new_context().new_page(), errors)
    # A browser with neither BarcodeDetector (Chromium on Linux has none) nor WebAssembly:
    # the server is the last reader left.
    page.add_init_script("delete window.BarcodeDetector; delete window.WebAssembly;")
    login(page, live_server.url, make_user("cam", "operator"), "password-cam")
    open_scan(page, live_server)
    decodes: list[str] = []
    page.on("request", lambda r: decodes.append(r.url) if "/api/decode" in r.url else None)
    page.click("#camera-start")
    text = wait_result(page, "ok", "E-5")
    assert "Pulled 1" in text
    assert page.get_attribute("#camera", "data-reader") == "server"
    assert decodes and all(url.endswith("/api/decode?live=1") for url in decodes)
    # The label stays in view: later frames are read but not pulled again.
    seen = int(page.get_attribute("#camera", "data-frames") or 0)
    page.wait_for_function(
        "(n) => Number(document.querySelector('#camera').dataset.frames) >= n",
        arg=seen + 3,
        timeout=TIMEOUT,
    )
    page.click("#camera-stop")
    pulls = movements("pull")
    assert [(m.bin.code, m.source) for m in pulls] == [("E-5", "camera")]


def test_photo_of_a_label_is_decoded_and_applied(
    logged_in: Callable[..., Any],
    live_server: LiveServer,
    make_bin: Callable[..., str],
    tmp_path: Path,
    errors: list[str],
) -> None:
    make_bin("F-6", on_hand=10)
    photo = tmp_path / "photo.jpg"
    canvas = Image.new("RGB", (1600, 1200), (150, 140, 130))
    canvas.paste(
        label_image("F-6").convert("RGB").rotate(8, expand=True, fillcolor=(150, 140, 130)),
        (400, 350),
    )
    canvas.save(photo, "JPEG", quality=85)
    page = open_scan(watch(logged_in("operator"), errors), live_server)
    page.set_input_files("#scan-photo", str(photo))
    text = wait_result(page, "ok", "F-6")
    assert "Pulled 1" in text
    [m] = movements()
    assert (m.bin.code, m.source) == ("F-6", "photo")

    # A picture without a barcode says so and changes nothing.
    blank = tmp_path / "blank.png"
    Image.new("L", (400, 300), 220).save(blank)
    page.set_input_files("#scan-photo", str(blank))
    wait_result(page, "error", "No barcode found")
    assert len(movements()) == 1


# --------------------------------------------------------------------------- offline queue


def test_scans_wait_offline_survive_a_reload_and_are_applied_exactly_once(
    logged_in: Callable[..., Any],
    live_server: LiveServer,
    make_bin: Callable[..., str],
    errors: list[str],
) -> None:
    make_bin("G-1", on_hand=10)
    make_bin("G-2", on_hand=10)
    page = open_scan(watch(logged_in("operator"), errors), live_server)
    calls: list[str] = []

    def lose_answers(route: Any) -> None:
        calls.append(route.request.url)
        if len(calls) == 1:
            route.fetch()  # the first scan reaches the server and is applied...
        route.abort()  # ...but no answer comes back; the others never get there

    page.route("**/api/scans", lose_answers)
    for code in ("G-1", "G-2", "G-1"):
        scan(page, code)
        wait_result(page, "queued", code)
    page.wait_for_selector("#scan-waiting:not([hidden])", timeout=TIMEOUT)
    assert "3 scans waiting" in page.inner_text("#scan-waiting")
    assert page.locator("#scan-recent .recent-waiting").count() == 3

    page.reload()
    page.wait_for_selector("#scan-app[data-ready=true]", timeout=TIMEOUT)
    page.wait_for_function(
        "() => document.querySelector('#scan-waiting-text')"
        ".textContent.includes('3 scans waiting')",
        timeout=TIMEOUT,
    )
    assert len(movements("pull")) == 1  # only the one whose answer was lost got through

    page.unroute("**/api/scans")  # the server is back: the page retries by itself
    page.wait_for_selector("#scan-waiting", state="hidden", timeout=TIMEOUT)
    page.wait_for_function(
        "() => document.querySelectorAll('#scan-recent .recent-waiting').length === 0",
        timeout=TIMEOUT,
    )
    pulls = movements("pull")
    assert [m.bin.code for m in pulls] == ["G-1", "G-2", "G-1"]  # in order, each once
    assert len({m.scan_id for m in pulls}) == 3
    assert on_hand("G-1") == 8 and on_hand("G-2") == 9
    assert page.evaluate(
        "() => Object.keys(localStorage)"
        ".filter(k => k.startsWith('kanban.scanQueue'))"
        ".map(k => JSON.parse(localStorage[k]).length)"
    ) == [0]


def test_the_scan_page_reloads_without_network_and_its_scans_go_through_once_back(
    browser: Any,
    live_server: LiveServer,
    make_user: Callable[..., str],
    make_bin: Callable[..., str],
    errors: list[str],
) -> None:
    # A phone walks out of Wi-Fi and the browser reloads the tab: the page must still open.
    make_bin("W-1", on_hand=10)
    relay = CuttableProxy(int(live_server.url.rsplit(":", 1)[1]))
    context = browser.new_context()
    try:
        page = watch(context.new_page(), errors)
        username = make_user("walker", "operator")
        login(page, relay.url, username, f"password-{username}")
        page.goto(f"{relay.url}/scan")
        page.wait_for_selector("#scan-app[data-offline=ready]", timeout=TIMEOUT)
        # The page filled the cache the server named, the one the worker reads below.
        assert page.evaluate("(name) => caches.has(name)", SCAN_CACHE)

        relay.down = True
        relay.cut()
        page.reload()
        page.wait_for_selector("#scan-app[data-ready=true]", timeout=TIMEOUT)
        scan(page, "W-1")
        wait_result(page, "queued", "W-1")
        page.wait_for_selector("#scan-waiting:not([hidden])", timeout=TIMEOUT)
        assert "1 scan waiting" in page.inner_text("#scan-waiting")
        assert movements("pull") == [] and on_hand("W-1") == 10

        relay.down = False
        page.click("#scan-send-now")
        page.wait_for_selector("#scan-waiting", state="hidden", timeout=TIMEOUT)
        assert [m.bin.code for m in movements("pull")] == ["W-1"]
        assert on_hand("W-1") == 9

        # Logging out forgets the kept page, so the next user never gets this one.
        page.click("form[action='/logout'] button")
        page.wait_for_url(f"{relay.url}/login")
        page.wait_for_function(
            "async (name) => !(await caches.has(name))", arg=SCAN_CACHE, timeout=TIMEOUT
        )
    finally:
        context.close()
        relay.close()


# --------------------------------------------------------------------------- phone layout


def test_scan_page_fits_a_phone_screen_with_big_targets(
    logged_in: Callable[..., Any],
    live_server: LiveServer,
    make_bin: Callable[..., str],
    artifacts_dir: Path,
    errors: list[str],
) -> None:
    make_bin("H-1", on_hand=5, card=5)
    page = watch(
        logged_in(
            "operator", viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
        ),
        errors,
    )
    open_scan(page, live_server)
    page.fill("#scan-code", "H-1")
    page.click("button.btn-go")
    wait_result(page, "ok", "H-1")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # no sideways scroll
    for sel in (
        "button.mode-pull",
        "button.mode-receive",
        "button.mode-count",
        "button.btn-go",
        "#photo-label",
        "#qty-plus",
    ):
        box = page.locator(sel).bounding_box()
        assert box and box["height"] >= 44 and box["width"] >= 44, sel
    title = page.locator("#scan-result .result-title").bounding_box()
    assert title and title["height"] >= 36  # the result reads from arm's length
    page.screenshot(path=str(artifacts_dir / "scan-phone.png"), full_page=True)
