"""The wheel carries templates, static files and migrations: an installed copy,
outside the checkout, serves the pages."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pytest
import requests as http

from .pg import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_installed_wheel_serves_pages_outside_the_checkout(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT)],
        check=True,
        cwd=tmp_path,
    )
    wheel = next(wheels.glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "kanban/_templates/base.html" in names
    assert "kanban/_static/css/app.css" in names
    assert any(n.startswith("kanban/migrations/versions/") for n in names)
    assert "kanban/domain/common_passwords.txt" in names  # the password rules need it

    # A clean venv; its dependencies are borrowed read-only from ours through a
    # .pth line (no network needed), but kanban itself only comes from the wheel.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    (site / "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--no-deps", str(wheel)], check=True
    )
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import kanban.paths as p; print(p.TEMPLATES)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout
    assert str(venv) in where and str(ROOT) not in where

    port = free_port()
    run_dir = tmp_path / "site"
    run_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KANBAN_")}
    env["KANBAN_INSTANCE_PATH"] = str(run_dir / "instance")
    proc = subprocess.Popen(
        [str(venv / "bin" / "kanban"), "serve", "--port", str(port)],
        cwd=run_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                page = http.get(base + "/login", timeout=2)
                break
            except http.ConnectionError:
                assert proc.poll() is None, "server exited"
                time.sleep(0.1)
        assert page.status_code == 200 and "Log in" in page.text
        css = http.get(base + "/static/css/app.css", timeout=5)
        assert css.status_code == 200 and ".card" in css.text
    finally:
        proc.terminate()
        proc.wait(timeout=15)
