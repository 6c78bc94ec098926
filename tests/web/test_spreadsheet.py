"""The bins spreadsheet on the web: download, preview what an upload changes, import."""

from __future__ import annotations

import csv
import html as htmlmod
import io
import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from kanban.extensions import db
from kanban.models import Bin, Movement, RequestLine
from kanban.ops import demo

from .test_board import login

HEADER = (
    "code,sku,item_name,zone,supplier,supplier_email,on_hand,card_quantity,"
    "order_quantity,pull_quantity,lead_time_days\n"
)


def csrf(client: FlaskClient) -> str:
    page = client.get("/bins/spreadsheet").get_data(as_text=True)
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def preview(client: FlaskClient, content: bytes | str, name: str = "bins.csv") -> tuple[int, str]:
    data = content.encode() if isinstance(content, str) else content
    resp = client.post(
        "/bins/spreadsheet",
        data={"action": "preview", "csrf_token": csrf(client), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    return resp.status_code, resp.get_data(as_text=True)


def snapshot() -> tuple[object, ...]:
    db.session.rollback()
    return (
        sorted(db.session.execute(sa.select(Bin.code, Bin.on_hand, Bin.card_quantity)).all()),
        db.session.scalar(sa.select(sa.func.count(Movement.id))),
        db.session.scalar(sa.select(sa.func.count(RequestLine.id))),
    )


@pytest.fixture
def supervisor(client: FlaskClient, make_user: Callable[..., str]) -> FlaskClient:
    login(client, make_user, "supervisor")
    return client


def test_download_gives_every_bin_as_the_spreadsheet(
    supervisor: FlaskClient, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", on_hand=7, card=3, order=12, supplier="Acme")
    make_bin("B-1", on_hand=2, card=4, order=8, supplier="Bolt Co")
    resp = supervisor.get("/bins/export.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="kanban-bins-')
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [(r["code"], r["on_hand"], r["card_quantity"], r["supplier"]) for r in rows] == [
        ("A-1", "7", "3", "Acme"),
        ("B-1", "2", "4", "Bolt Co"),
    ]


def test_preview_shows_what_each_row_changes_and_writes_nothing(
    supervisor: FlaskClient, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", on_hand=7, card=3, order=12, supplier="Acme", sku="S-A1")
    make_bin("B-1", on_hand=2, card=4, order=8, supplier="Acme", sku="S-B1")
    exported = supervisor.get("/bins/export.csv").get_data(as_text=True)
    edited = exported.replace(",7,3,12,", ",7,9,12,") + (
        "N-1,S-N1,New part,Dock,Acme,orders@acme.example,5,2,10,1,4\n"
    )
    before = snapshot()
    status, page = preview(supervisor, edited)
    assert status == 200
    assert 'data-ok="true"' in page and "3 valid rows" in page
    counts = dict(re.findall(r'<b class="sheet-(\w+)">(\d+)</b>', page))
    assert counts == {"new": "1", "changed": "1", "same": "1"}
    assert re.search(r'data-bin="A-1" data-kind="changed">.*?card quantity 3 → 9', page, re.S)
    # 7 on hand under a card of 9: the preview says the card will flip, in words.
    assert re.search(r'data-bin="A-1".*?card ✔ Stocked → ⬇ Replenish</span>', page, re.S)
    assert re.search(r'data-bin="N-1" data-kind="new">.*?new bin', page, re.S)
    assert 'data-bin="B-1"' not in page  # unchanged rows are counted, not listed
    assert snapshot() == before


def test_import_from_the_preview_writes_every_row(
    supervisor: FlaskClient, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", on_hand=7, card=3, order=12, supplier="Acme", sku="S-A1")
    edited = (
        supervisor.get("/bins/export.csv").get_data(as_text=True).replace(",7,3,12,", ",7,9,12,")
    )
    edited += "N-1,S-N1,New part,Dock,Acme,orders@acme.example,5,2,10,1,4\n"
    _, page = preview(supervisor, edited)
    text = re.search(r'name="csv" value="([^"]*)"', page)
    assert text is not None
    resp = supervisor.post(
        "/bins/spreadsheet",
        data={
            "action": "import",
            "csrf_token": csrf(supervisor),
            "csv": htmlmod.unescape(text.group(1)),
        },
    )
    assert resp.status_code == 302
    assert "Imported 2 rows: 1 bin created, 1 updated, 0 unchanged." in supervisor.get(
        "/bins/spreadsheet"
    ).get_data(as_text=True)
    db.session.rollback()
    bins = {b.code: b for b in db.session.scalars(sa.select(Bin))}
    assert bins["A-1"].card_quantity == 9 and bins["A-1"].state == "replenish"  # 7 < 9
    assert bins["N-1"].on_hand == 5 and bins["N-1"].zone.name == "Dock"
    assert db.session.scalar(sa.select(sa.func.count(RequestLine.id))) == 1


def _import(client: FlaskClient, page: str) -> str:
    """Press Import on a preview page; returns the flash of the page it leads to."""
    text = re.search(r'name="csv" value="([^"]*)"', page)
    assert text is not None
    return _import_text(client, htmlmod.unescape(text.group(1)))


def test_a_semicolon_separated_file_with_decimal_commas_previews_and_imports(
    supervisor: FlaskClient, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", on_hand=7, card=3, order=12, supplier="Acme", sku="S-A1")
    european = (
        HEADER.replace(",", ";")
        + "A-1;S-A1;Part in A-1;Assembly line 1;Acme;orders@acme.example;7,0;9;12;1;7\r\n"
        + '"N-1";"S-N1";"Schraube M6; verzinkt";"Dock";"Acme";;"5,00";2;10;;\r\n'
    )
    status, page = preview(supervisor, european.encode("utf-8-sig"))
    assert status == 200 and 'data-ok="true"' in page, page
    counts = dict(re.findall(r'<b class="sheet-(\w+)">(\d+)</b>', page))
    assert counts == {"new": "1", "changed": "1", "same": "0"}
    assert re.search(r'data-bin="A-1" data-kind="changed">.*?card quantity 3 → 9', page, re.S)
    assert _import(supervisor, page) == "Imported 2 rows: 1 bin created, 1 updated, 0 unchanged."
    db.session.rollback()
    bins = {b.code: b for b in db.session.scalars(sa.select(Bin))}
    assert (bins["A-1"].card_quantity, bins["N-1"].on_hand) == (9, 5)
    assert bins["N-1"].item.name == "Schraube M6; verzinkt"


def _import_text(client: FlaskClient, text: str) -> str:
    """Import this text as the preview's Import button would; returns the flash."""
    resp = client.post(
        "/bins/spreadsheet", data={"action": "import", "csrf_token": csrf(client), "csv": text}
    )
    assert resp.status_code == 302
    done = client.get("/bins/spreadsheet").get_data(as_text=True)
    flash = re.search(r'<p class="flash flash-ok" role="alert">([^<]+)</p>', done)
    assert flash is not None
    return flash.group(1)


def test_reimporting_the_demo_export_reports_the_counts_of_its_preview(
    supervisor: FlaskClient,
) -> None:
    demo.seed()
    db.session.commit()
    exported = supervisor.get("/bins/export.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(exported)))
    rows[1][7] = str(int(rows[1][7]) + 1)  # one card quantity changed
    rows.append(
        [
            "Z-99",
            "SKU-Z99",
            "New part",
            "Packing",
            "Acme",
            "orders@acme.example",
            "5",
            "2",
            "10",
            "1",
            "4",
        ]
    )
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    for text, counts, said in (
        (exported, ("0", "0", "64"), "0 bins created, 0 updated, 64 unchanged"),
        (out.getvalue(), ("1", "1", "63"), "1 bin created, 1 updated, 63 unchanged"),
    ):
        status, page = preview(supervisor, text)
        assert status == 200
        shown = dict(re.findall(r'<b class="sheet-(\w+)">(\d+)</b>', page))
        assert (shown["new"], shown["changed"], shown["same"]) == counts
        assert f"Importing it will report: {said}." in page
        rows_in = len(text.strip().splitlines()) - 1
        assert _import_text(supervisor, text) == f"Imported {rows_in} rows: {said}."


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (HEADER + "A-1,S1,Part,Z,Acme,,x,1,1,,\n", "line 2: on_hand must be a whole number"),
        (
            HEADER + "a b,S1,Part,Z,Acme,,1,1,1,,\n",
            "line 2: code &#39;A B&#39; is not a valid bin code",
        ),
        (
            HEADER + "A-1,S1,Part,Z,Acme,,1,1,1,,\nA-1,S2,Part,Z,Acme,,1,1,1,,\n",
            "line 3: code A-1 repeats line 2",
        ),
        (b"\xff\xfe\x00garbage", "file is not UTF-8 text"),
        ("code,sku\nA,B\n", "line 1: missing column(s)"),
        (b"", "line 1: missing column(s)"),
    ],
)
def test_a_bad_file_lists_its_errors_and_writes_nothing(
    supervisor: FlaskClient, make_bin: Callable[..., str], content: str | bytes, message: str
) -> None:
    make_bin("A-1", on_hand=7, card=3)
    before = snapshot()
    status, page = preview(supervisor, content)
    assert status == 400
    assert 'data-ok="false"' in page and "nothing imported" in page
    assert message in page
    assert 'name="csv"' not in page  # no way to import it
    assert snapshot() == before


def test_an_import_that_went_bad_since_the_preview_writes_nothing(
    supervisor: FlaskClient, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", on_hand=7, card=3)
    before = snapshot()
    resp = supervisor.post(
        "/bins/spreadsheet",
        data={
            "action": "import",
            "csrf_token": csrf(supervisor),
            "csv": HEADER + "A-1,S1,Part,Z,Acme,,9,1,1,,\nB-1,S2,Part,Z,Acme,,-4,1,1,,\n",
        },
    )
    assert resp.status_code == 400
    assert "line 3: on_hand must be between 0 and 1000000" in resp.get_data(as_text=True)
    assert snapshot() == before


def test_scanned_or_typed_markup_in_a_file_is_shown_as_text(
    supervisor: FlaskClient, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", on_hand=7, card=3, sku="S1")
    exported = supervisor.get("/bins/export.csv").get_data(as_text=True)
    status, page = preview(supervisor, exported.replace("Part in A-1", "<script>alert(1)</script>"))
    assert status == 200
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    status, page = preview(supervisor, exported, name='"><img src=x onerror=alert(1)>.csv')
    assert "<img src=x" not in page


def test_no_file_or_an_unknown_action_is_a_clear_error(supervisor: FlaskClient) -> None:
    resp = supervisor.post(
        "/bins/spreadsheet", data={"action": "preview", "csrf_token": csrf(supervisor)}
    )
    assert resp.status_code == 400 and "Choose a CSV file first." in resp.get_data(as_text=True)
    resp = supervisor.post(
        "/bins/spreadsheet", data={"action": "drop", "csrf_token": csrf(supervisor)}
    )
    assert resp.status_code == 400 and "Unknown action." in resp.get_data(as_text=True)


def test_operators_cannot_use_the_spreadsheet(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", on_hand=7, card=3)
    login(client, make_user, "operator")
    board = client.get("/").get_data(as_text=True)
    assert "/bins/spreadsheet" not in board  # not in the menu either
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', board)
    assert token is not None
    assert client.get("/bins/spreadsheet").status_code == 403
    assert client.get("/bins/export.csv").status_code == 403
    resp = client.post(
        "/bins/spreadsheet",
        data={
            "action": "import",
            "csrf_token": token.group(1),
            "csv": HEADER + "A-1,S1,P,Z,A,,99,1,1,,\n",
        },
    )
    assert resp.status_code == 403
    db.session.rollback()
    assert db.session.scalar(sa.select(Bin.on_hand)) == 7
