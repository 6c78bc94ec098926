"""The ``kanban`` command line: users, tokens, import/export, check, backup, demo."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests as http
import sqlalchemy as sa
from flask import Flask

from kanban.extensions import db
from kanban.models import (
    Bin,
    Event,
    Movement,
    RequestLine,
    Supplier,
    SupplierRequest,
    User,
    Zone,
)
from kanban.sizing import loop as sizing

from .conftest import KANBAN, LiveServer
from .pg import PG_BIN, free_port

HEADER = (
    "code,sku,item_name,zone,supplier,supplier_email,on_hand,card_quantity,"
    "order_quantity,pull_quantity,lead_time_days"
)
GOOD_CSV = (
    HEADER
    + """
A-01-01,BOLT-M6,M6 bolt,Aisle A,Acme,orders@acme.example,40,20,50,2,5
A-01-02,NUT-M6,M6 nut,Aisle A,Acme,orders@acme.example,5,20,50,,
B-01-01,TAPE-48,Packing tape,Packing,Tapes Ltd,,12,4,10,1,3
"""
)


def counts() -> tuple[int, int, int, int]:
    db.session.rollback()
    return tuple(
        db.session.scalar(sa.select(sa.func.count()).select_from(m))  # type: ignore[return-value]
        for m in (Bin, Movement, Supplier, Zone)
    )


def test_create_user_and_refuse_duplicate(runner: Any) -> None:
    result = runner.invoke(
        args=["create-user", "ana", "--role", "operator", "--password", "secret-pass"]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User))
    assert (user.username, user.role) == ("ana", "operator")
    assert user.check_password("secret-pass") and "secret-pass" not in user.password_hash
    again = runner.invoke(
        args=["create-user", "ana", "--role", "operator", "--password", "secret-pass"]
    )
    assert again.exit_code != 0 and "exists" in again.output


def test_token_create_prints_token_once_and_it_works(
    runner: Any, app: Flask, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1")
    result = runner.invoke(args=["token", "create", "Scanner 1", "--role", "operator"])
    assert result.exit_code == 0
    token = result.stdout.strip().splitlines()[0]
    assert token.startswith("kbt_")
    client = app.test_client()
    assert client.get("/api/bins", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listing = runner.invoke(args=["token", "list"]).output
    assert "Scanner 1" in listing and token not in listing
    bad = runner.invoke(args=["token", "create", "x", "--role", "king"])
    assert bad.exit_code != 0


def test_import_creates_bins_with_ledger_and_cards(runner: Any, tmp_path: Path) -> None:
    path = tmp_path / "bins.csv"
    path.write_text(GOOD_CSV)
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 bins created" in result.output
    db.session.rollback()
    states = dict(db.session.execute(sa.select(Bin.code, Bin.state)).all())
    assert states == {"A-01-01": "stocked", "A-01-02": "replenish", "B-01-01": "stocked"}
    pull = db.session.scalar(sa.select(Bin.pull_quantity).where(Bin.code == "A-01-01"))
    assert pull == 2
    lead = db.session.scalar(sa.select(Supplier.lead_time_days).where(Supplier.name == "Tapes Ltd"))
    assert lead == 3
    assert db.session.scalar(sa.select(sa.func.count(RequestLine.id))) == 1


def test_import_dry_run_writes_nothing(runner: Any, tmp_path: Path) -> None:
    path = tmp_path / "bins.csv"
    path.write_text(GOOD_CSV)
    result = runner.invoke(args=["import", str(path), "--dry-run"])
    assert result.exit_code == 0
    assert "the import would report 3 bins created, 0 updated, 0 unchanged" in result.output
    assert counts() == (0, 0, 0, 0)


def _european(text: str) -> str:
    """The spreadsheet as a German or French spreadsheet program saves it: semicolons, and
    decimal commas in the number cells it formatted with decimals."""
    rows = [line.split(",") for line in text.strip().splitlines()]
    rows[1][6] += ",0"  # on_hand 40 → "40,0"
    return "\r\n".join(";".join(row) for row in rows) + "\r\n"


def test_import_reads_semicolon_separated_files_with_decimal_commas(
    runner: Any, tmp_path: Path
) -> None:
    path = tmp_path / "bins.csv"
    path.write_bytes(b"\xef\xbb\xbf" + _european(GOOD_CSV).encode())  # with a BOM, as Excel
    assert path.read_bytes().startswith(b"\xef\xbb\xbfcode;sku;item_name;")
    assert b"\r\nA-01-01;BOLT-M6;M6 bolt;Aisle A;Acme;orders@acme.example;40,0;20;" in (
        path.read_bytes()
    )
    dry = runner.invoke(args=["import", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "3 valid rows; the import would report 3 bins created" in dry.output
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "Imported 3 rows: 3 bins created, 0 updated, 0 unchanged." in result.output
    db.session.rollback()
    got = dict(db.session.execute(sa.select(Bin.code, Bin.on_hand)).all())
    assert got == {"A-01-01": 40, "A-01-02": 5, "B-01-01": 12}


@pytest.mark.parametrize("value", ["40,5", "1.234", "4O"])
def test_a_quantity_that_is_not_whole_is_refused_in_either_notation(
    runner: Any, tmp_path: Path, value: str
) -> None:
    path = tmp_path / "bins.csv"
    path.write_text(_european(GOOD_CSV).replace("40,0", value, 1))
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code != 0
    assert f"line 2: on_hand must be a whole number, got {value!r}" in result.output
    assert counts() == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("a b c,SKU,Name,Z,S,,1,1,1,,", "line 5: code 'A B C' is not a valid bin code"),
        ("C-1,SKU9,Name,Z,S,,x,1,1,,", "line 5: on_hand must be a whole number"),
        ("C-1,SKU9,Name,Z,S,,1,1,0,,", "line 5: order_quantity must be between 1"),
        ("C-1,SKU9,Name,Z,S,not-an-email,1,1,1,,", "line 5: supplier_email 'not-an-email'"),
        ("A-01-01,SKU9,Name,Z,S,,1,1,1,,", "line 5: code A-01-01 repeats line 2"),
        ("C-1,,Name,Z,S,,1,1,1,,", "line 5: sku is empty"),
        ("C-1,BOLT-M6,Other name,Z,S,,1,1,1,,", "line 5: SKU BOLT-M6 has another item_name"),
        ("C-1,SKU9,Name,Z,S,,1,1,1,1,1,extra", "line 5: more fields than columns"),
    ],
)
def test_bad_row_is_reported_with_line_number_and_nothing_written(
    runner: Any, tmp_path: Path, row: str, message: str
) -> None:
    path = tmp_path / "bins.csv"
    path.write_text(GOOD_CSV + row + "\n")
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code != 0
    assert message in result.output
    assert "nothing was imported" in result.output
    assert counts() == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"code,sku\nA,B\n", "line 1: missing column(s)"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (GOOD_CSV.splitlines()[0].encode() + b"\n", "file has no rows"),
    ],
)
def test_bad_file_is_refused(runner: Any, tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bins.csv"
    path.write_bytes(content)
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code != 0 and message in result.output
    assert counts() == (0, 0, 0, 0)


def test_export_round_trips_through_import(runner: Any, tmp_path: Path) -> None:
    path = tmp_path / "bins.csv"
    path.write_text(GOOD_CSV)
    runner.invoke(args=["import", str(path)])
    out = tmp_path / "export.csv"
    assert runner.invoke(args=["export", "--out", str(out)]).exit_code == 0
    lines = out.read_text().splitlines()
    assert lines[0] == GOOD_CSV.splitlines()[0]
    assert lines[1] == "A-01-01,BOLT-M6,M6 bolt,Aisle A,Acme,orders@acme.example,40,20,50,2,5"
    before = counts()
    again = runner.invoke(args=["import", str(out)])
    assert "0 bins created, 0 updated, 3 unchanged" in again.output
    assert counts() == before  # nothing changed, so no movement was written


def test_an_import_that_changes_bins_tells_open_boards(runner: Any, tmp_path: Path) -> None:
    path = tmp_path / "bins.csv"
    path.write_text(GOOD_CSV)
    runner.invoke(args=["import", str(path)])
    db.session.rollback()
    last = db.session.scalar(sa.select(sa.func.max(Event.id))) or 0
    changed = GOOD_CSV.replace(
        "Aisle A,Acme,orders@acme.example,40,20,", "Aisle A,Acme,orders@acme.example,40,45,"
    ).replace("B-01-01,TAPE-48,Packing tape,Packing,", "B-01-01,TAPE-48,Packing tape,Dock,")
    path.write_text(changed)
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    told = db.session.scalars(
        sa.select(Event).where(Event.id > last, Event.kind == "bin.changed").order_by(Event.id)
    ).all()
    by_bin = {e.bin_code: e.data for e in told}
    assert set(by_bin) == {"A-01-01", "B-01-01"}  # the unchanged bin says nothing
    assert by_bin["A-01-01"]["card_quantity"] == 45 and by_bin["A-01-01"]["state"] == "replenish"
    assert by_bin["B-01-01"]["zone"] == "Dock"


def test_reimporting_the_demo_export_reports_what_its_dry_run_said(
    runner: Any, tmp_path: Path
) -> None:
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    out = tmp_path / "export.csv"
    assert runner.invoke(args=["export", "--out", str(out)]).exit_code == 0
    unchanged = "0 bins created, 0 updated, 64 unchanged"
    dry = runner.invoke(args=["import", "--dry-run", str(out)])
    assert f"64 valid rows; the import would report {unchanged}." in dry.output
    assert f"Imported 64 rows: {unchanged}." in runner.invoke(args=["import", str(out)]).output
    # One bin edited and one added: the dry run and the import agree again.
    lines = out.read_text().splitlines()
    fields = lines[1].split(",")
    fields[7] = str(int(fields[7]) + 1)  # card_quantity
    new = "Z-99,SKU-Z99,New part,Packing,Acme,orders@acme.example,5,2,10,1,4"
    out.write_text("\n".join([lines[0], ",".join(fields), *lines[2:], new]) + "\n")
    edited = "1 bin created, 1 updated, 63 unchanged"
    dry = runner.invoke(args=["import", "--dry-run", str(out)])
    assert f"65 valid rows; the import would report {edited}." in dry.output
    assert f"Imported 65 rows: {edited}." in runner.invoke(args=["import", str(out)]).output


@pytest.mark.ledger_broken
def test_check_exits_nonzero_when_ledger_is_broken(
    runner: Any, make_bin: Callable[..., str]
) -> None:
    code = make_bin(on_hand=5)
    assert runner.invoke(args=["check"]).exit_code == 0
    db.session.execute(sa.update(Bin).where(Bin.code == code).values(on_hand=7))
    db.session.commit()
    result = runner.invoke(args=["check"])
    assert result.exit_code == 2
    assert f"{code}: on hand 7 but ledger sums to 5" in result.output


def test_seed_demo_builds_a_realistic_site(runner: Any) -> None:
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Zone.id))) >= 3
    assert db.session.scalar(sa.select(sa.func.count(Supplier.id))) >= 4
    assert db.session.scalar(sa.select(sa.func.count(Bin.id))) >= 60
    first, last = db.session.execute(
        sa.select(sa.func.min(Movement.created_at), sa.func.max(Movement.created_at)).where(
            Movement.kind == "pull"
        )
    ).one()
    assert (last - first).days >= 28
    states = set(db.session.scalars(sa.select(Bin.state)))
    assert {"stocked", "replenish", "ordered"} <= states
    # Earlier cycles were requested and received, so every supplier's lead time is measured
    # (and the bin pages size cards with it), and every receipt belongs to its line.
    received = db.session.scalar(
        sa.select(sa.func.count(SupplierRequest.id)).where(SupplierRequest.status == "received")
    )
    assert received and received >= 10
    for supplier_id in db.session.scalars(sa.select(Supplier.id)):
        days, source, deliveries = sizing.lead_time(supplier_id, 0)
        assert source == "measured" and deliveries >= 3 and days >= 1
    receipts = db.session.scalars(sa.select(Movement).where(Movement.kind == "receipt")).all()
    assert receipts and all(m.line_id is not None for m in receipts)
    assert runner.invoke(args=["seed-demo"]).exit_code != 0  # never over real data


def test_backup_while_server_takes_scans(
    live_server: LiveServer,
    db_url: str,
    tmp_path: Path,
    runner: Any,
    make_bin: Callable[..., str],
    make_token: Callable[[str], str],
) -> None:
    code = make_bin(on_hand=500, card=5)
    token = make_token("operator")
    for _ in range(20):
        http.post(
            f"{live_server.url}/api/scans",
            json={"code": code},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    target = tmp_path / "backup.db"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    if db_url.startswith("sqlite"):
        with sqlite3.connect(target) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("SELECT on_hand FROM bins").fetchone()[0] == 480
            assert conn.execute("SELECT count(*) FROM movements").fetchone()[0] == 21
    else:
        listing = subprocess.run(
            [str(PG_BIN / "pg_restore"), "--list", str(target)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "TABLE DATA public movements" in listing


def test_flask_cli_has_the_same_commands() -> None:
    env = {**os.environ, "KANBAN_INSTANCE_PATH": "/tmp/kanban-cli-help"}
    ours = subprocess.run([KANBAN, "--help"], capture_output=True, text=True, env=env).stdout
    flask = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "kanban", "--help"],
        capture_output=True,
        text=True,
        env=env,
    ).stdout

    def names(text: str) -> set[str]:
        section = text.split("Commands:")[1]
        return set(re.findall(r"^  ([a-z][a-z-]*)", section, re.M))

    expected = {
        "demo",
        "serve",
        "db",
        "seed-demo",
        "create-user",
        "token",
        "import",
        "export",
        "check",
        "backup",
    }
    assert expected <= names(ours)
    assert expected <= names(flask)


@pytest.mark.slow
def test_demo_seeds_serves_and_prints_a_login(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "KANBAN_DATABASE_URL"}
    env["KANBAN_INSTANCE_PATH"] = str(tmp_path / "instance")
    log = tmp_path / "demo.log"
    proc = subprocess.Popen(
        [KANBAN, "demo", "--port", str(port)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.time() + 60
        while "Log in as" not in log.read_text() and time.time() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.2)
        text = log.read_text()
        assert f"http://127.0.0.1:{port}/" in text
        user, password = re.search(r"Log in as (\S+) / (\S+)", text).groups()  # type: ignore[union-attr]
        session = http.Session()
        for _ in range(100):
            try:
                page = session.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except http.ConnectionError:
                time.sleep(0.1)
        assert set(re.findall(r'data-demo-user="([^"]+)"', page.text)) >= {user, "ana", "admin"}
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        board = session.post(
            f"http://127.0.0.1:{port}/login",
            data={"username": user, "password": password, "csrf_token": csrf},
        )
        assert board.status_code == 200
        assert len(re.findall(r'data-state="replenish"', board.text)) >= 1
        assert len(re.findall(r"data-bin=", board.text)) >= 60
    finally:
        proc.terminate()
        proc.wait(timeout=15)
