"""The wheel carries templates, static files and migrations: an installed copy,
outside the checkout, serves the pages. Building and installing say nothing but what
they did: no setuptools warning about the package layout."""

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
QUIET = ["--disable-pip-version-check", "--no-color"]


def _warnings(output: str) -> list[str]:
    """The lines of pip's and the build's output that warn about something."""
    return [line for line in output.splitlines() if "warn" in line.lower()]


def _env() -> dict[str, str]:
    """Our environment without PYTHONPATH, which would shadow what was installed."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"NO_COLOR": "1"}


def _run(*args: str, cwd: Path) -> str:
    done = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, env=_env())
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


def _shipped(folder: str) -> set[str]:
    """The files of a top-level folder as the wheel names them (templates -> _templates)."""
    top = ROOT / folder
    return {
        f"kanban/_{folder}/{path.relative_to(top).as_posix()}"
        for path in top.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.mark.slow
def test_installed_wheel_serves_pages_outside_the_checkout(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    built = _run(
        sys.executable, "-m", "pip", "wheel", *QUIET, "--no-deps", "-w", str(wheels), str(ROOT),
        cwd=tmp_path,
    )  # fmt: skip
    assert _warnings(built) == []  # setuptools used to print ~600 lines about the layout
    wheel = next(wheels.glob("*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert _shipped("templates") | _shipped("static") <= names  # every page and asset
    migrations = ROOT / "kanban" / "migrations"
    for path in migrations.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            assert f"kanban/{path.relative_to(ROOT / 'kanban').as_posix()}" in names
    assert "kanban/domain/common_passwords.txt" in names  # the password rules need it
    # The live camera's on-phone reader and its licences (static/vendor/zxing_wasm).
    for name in ("zxing_reader.wasm", "reader/index.js", "share.js", "LICENSE", "VERSION"):
        assert f"kanban/_static/vendor/zxing_wasm/{name}" in names

    # A clean venv; its dependencies are borrowed read-only from ours through a
    # .pth line (no network needed), but kanban itself only comes from the wheel.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    (site / "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = _run(
        str(venv / "bin" / "pip"), "install", *QUIET, "--root-user-action=ignore", "--no-deps",
        str(wheel), cwd=tmp_path,
    )  # fmt: skip
    assert _warnings(installed) == []
    where = _run(
        str(venv / "bin" / "python"), "-c", "import kanban.paths as p; print(p.TEMPLATES)",
        cwd=tmp_path,
    )  # fmt: skip
    assert str(venv) in where and str(ROOT) not in where

    port = free_port()
    run_dir = tmp_path / "site"
    run_dir.mkdir()
    env = {k: v for k, v in _env().items() if not k.startswith("KANBAN_")}
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


@pytest.mark.slow
def test_editable_install_is_quiet_and_uses_the_checkout(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    (site / "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    output = _run(
        str(venv / "bin" / "python"), "-m", "pip", "install", *QUIET,
        "--root-user-action=ignore", "--no-deps", "-e", str(ROOT),
        cwd=tmp_path,
    )  # fmt: skip
    assert _warnings(output) == []
    where = _run(
        str(venv / "bin" / "python"), "-c", "import kanban.paths as p; print(p.TEMPLATES)",
        cwd=tmp_path,
    )  # fmt: skip
    assert where.strip() == str(ROOT / "templates")
