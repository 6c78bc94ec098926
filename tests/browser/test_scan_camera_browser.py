"""The live camera in a real Chromium, on the phone's side (docs/manual/decoding.md, issue #18).

Chromium's fake camera plays a label (a .y4m file) into ``getUserMedia``. Chromium on Linux
has no BarcodeDetector, and an init script deletes it anyway, so the frames are read by
zxing-cpp as WebAssembly (static/vendor/zxing_wasm), on the page: it still reads with the
server unreachable, and the scan waits in the outbox. A code that is not a bin is outlined
in red and said so at once, and is never scanned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from ..conftest import LiveServer
from .conftest import CuttableProxy, login
from .test_scan_browser import TIMEOUT, movements, on_hand, open_scan, wait_result, watch, write_y4m

NO_DETECTOR = "delete window.BarcodeDetector;"


@pytest.fixture
def errors() -> Iterator[list[str]]:
    """JavaScript errors of the pages a test watches; none are allowed."""
    found: list[str] = []
    yield found
    assert not found, f"JavaScript errors: {found}"


def camera_browser(launch_chromium: Callable[..., Any], video: Path) -> Any:
    return launch_chromium(
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )


def test_live_camera_reads_on_the_phone_and_queues_with_the_server_unreachable(
    launch_chromium: Callable[..., Any],
    live_server: LiveServer,
    make_bin: Callable[..., str],
    make_user: Callable[..., str],
    tmp_path: Path,
    errors: list[str],
) -> None:
    make_bin("K-7", on_hand=10)
    video = tmp_path / "label.y4m"
    write_y4m(video, "K-7", frames=5)
    relay = CuttableProxy(int(live_server.url.rsplit(":", 1)[1]))
    context = camera_browser(launch_chromium, video).new_context()
    try:
        context.add_init_script(NO_DETECTOR)
        page = watch(context.new_page(), errors)
        hosts: set[str] = set()
        page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
        username = make_user("phone", "operator")
        login(page, relay.url, username, f"password-{username}")
        page.goto(f"{relay.url}/scan")
        # The offline copy holds the page and the WebAssembly reader.
        page.wait_for_selector("#scan-app[data-offline=ready]", timeout=TIMEOUT)

        relay.down = True  # the server cannot be reached from here on
        relay.cut()
        page.reload()
        page.wait_for_selector("#scan-app[data-ready=true]", timeout=TIMEOUT)
        page.click("#camera-start")
        text = wait_result(page, "queued", "K-7")
        assert "K-7" in text
        assert page.get_attribute("#camera", "data-reader") == "wasm"
        # The code was outlined over the live view (not checked: the server is away).
        assert page.get_attribute("#camera", "data-last-outline") == "checking"
        page.wait_for_selector("#scan-waiting:not([hidden])", timeout=TIMEOUT)
        assert "1 scan waiting" in page.inner_text("#scan-waiting")
        assert movements("pull") == [] and on_hand("K-7") == 10
        page.click("#camera-stop")

        relay.down = False
        page.click("#scan-send-now")
        page.wait_for_selector("#scan-waiting", state="hidden", timeout=TIMEOUT)
        pulls = movements("pull")
        assert [(m.bin.code, m.source) for m in pulls] == [("K-7", "camera")]
        assert on_hand("K-7") == 9
        # Read on the phone (the server could not be reached at all), and nothing was
        # asked of any other host: no CDN.
        assert hosts == {urlsplit(relay.url).netloc}
    finally:
        context.close()
        relay.close()


def test_a_code_that_is_not_a_bin_is_outlined_in_red_and_never_scanned(
    launch_chromium: Callable[..., Any],
    live_server: LiveServer,
    make_bin: Callable[..., str],
    make_user: Callable[..., str],
    tmp_path: Path,
    artifacts_dir: Path,
    errors: list[str],
) -> None:
    make_bin("K-8", on_hand=10)
    video = tmp_path / "stranger.y4m"
    write_y4m(video, "NOBIN-42", frames=5)
    context = camera_browser(launch_chromium, video).new_context()
    try:
        context.add_init_script(NO_DETECTOR)
        page = watch(context.new_page(), errors)
        username = make_user("aimer", "operator")
        login(page, live_server.url, username, f"password-{username}")
        open_scan(page, live_server)
        page.click("#camera-start")
        page.wait_for_selector("#camera[data-not-bin='NOBIN-42']", timeout=TIMEOUT)
        page.wait_for_selector("#camera[data-last-outline='not-bin']", timeout=TIMEOUT)
        page.locator("#camera").screenshot(path=str(artifacts_dir / "camera-not-a-bin.png"))
        assert "Not a bin label: NOBIN-42" in page.inner_text("#camera-status")
        # The outline is drawn on the overlay, in the video's own pixels.
        size = page.evaluate(
            "() => { const c = document.querySelector('#camera-overlay'),"
            " v = document.querySelector('#camera-video');"
            " return [c.width, c.height, v.videoWidth, v.videoHeight]; }"
        )
        assert size[:2] == size[2:] and size[0] > 0
        # Not a scan: nothing queued, nothing sent, the banner untouched.
        assert page.get_attribute("#scan-result", "data-outcome") == "idle"
        assert page.locator("#scan-recent .recent-waiting").count() == 0
        page.click("#camera-stop")
        assert movements() == []
    finally:
        context.close()
