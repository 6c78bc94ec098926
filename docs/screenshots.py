"""Take the pictures README and the manual show: the board and the wall of a demo site.

    .venv/bin/python docs/screenshots.py [--out docs/img]

Seeds the demo site into a throwaway instance folder, serves it with ``kanban serve`` on a
free loopback port, and drives Debian's Chromium through Playwright (as the browser tests
do): the board logged in as the demo supervisor, the wall opened with a display token's
link. The PNGs are reduced to 256 colours so that each stays well under 300 KB.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
KANBAN = str(Path(sys.executable).with_name("kanban"))
CHROMIUM = os.environ.get("KANBAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: The demo's supervisor (kanban/ops/demo.py, DEMO_LOGINS).
SUPERVISOR = ("super", "kanban-super")


def free_port() -> int:
    """A port nobody listens on now, on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kanban(env: dict[str, str], *args: str) -> str:
    """Run a ``kanban`` command on the throwaway site; its standard output."""
    command = [KANBAN, *args]  # our own CLI, with arguments written in this file
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)  # noqa: S603
    return done.stdout


def wait_until_up(url: str, timeout: float = 60) -> None:
    """Wait until the server answers its login page."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/login", timeout=2):  # noqa: S310 (loopback)
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def save_small(page: Any, path: Path) -> None:
    """Screenshot the viewport and store it with a 256-colour palette (a UI loses nothing)."""
    raw = path.with_suffix(".raw.png")
    page.screenshot(path=str(raw))
    with Image.open(raw) as image:
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
            path, optimize=True
        )
    raw.unlink()
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KiB")


def shoot(url: str, token: str, out: Path) -> None:
    """The board (1280×800, as a supervisor) and the wall (1280×720, with a display link)."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        board = browser.new_page(viewport={"width": 1280, "height": 800})
        board.goto(f"{url}/login")
        board.fill("input[name=username]", SUPERVISOR[0])
        board.fill("input[name=password]", SUPERVISOR[1])
        board.click("button[type=submit]")
        board.wait_for_url(lambda u: "/login" not in u)
        board.goto(f"{url}/board")
        board.wait_for_load_state("networkidle")
        save_small(board, out / "board.png")
        wall = browser.new_page(viewport={"width": 1280, "height": 720})
        wall.goto(f"{url}/wall?token={token}")
        wall.wait_for_load_state("networkidle")
        wall.wait_for_timeout(1500)  # the wall lays its cards out after the first paint
        save_small(wall, out / "wall.png")
        browser.close()


def main() -> int:
    """Seed, serve, shoot, stop."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kanban-screenshots-") as tmp:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "KANBAN_INSTANCE_PATH": tmp,
            "KANBAN_DATABASE_URL": f"sqlite:///{tmp}/demo.db",
            "KANBAN_SECRET_KEY": secrets.token_hex(16),
        }
        kanban(env, "seed-demo")
        token = kanban(env, "token", "create", "Screenshots", "--role", "display").strip()
        port = free_port()
        server = subprocess.Popen(  # noqa: S603 (our own CLI, arguments written here)
            [KANBAN, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
            + ["--threads", "4", "--no-worker"],
            env=env,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, stopped as one below
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(url)
            shoot(url, token, args.out)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
