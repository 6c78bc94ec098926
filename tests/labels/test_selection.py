"""Choosing bins for labels and validating label options (kanban.labels.selection)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image
from pyzbar import pyzbar

from kanban.barcodes.labels import LabelData
from kanban.core.errors import ServiceError
from kanban.extensions import db
from kanban.labels import options as lo
from kanban.labels import rendering as label_files
from kanban.labels import selection as ls
from kanban.models import Bin, RequestLine
from kanban.purchasing import sending


@pytest.fixture
def site(make_bin: Callable[..., str]) -> None:
    """Six bins over two zones and two suppliers, in all three card states."""
    make_bin("B-02", zone="Aisle B", supplier="Acme", on_hand=9, card=5)
    make_bin("A-02", zone="Aisle A", supplier="Bolt & Co", on_hand=1, card=5)  # replenish
    make_bin("A-01", zone="Aisle A", supplier="Acme", on_hand=9, card=5)
    make_bin("A/10", zone="Aisle A", supplier="Acme", on_hand=2, card=5)  # → ordered below
    make_bin("B-01", zone="Aisle B", supplier="Bolt & Co", on_hand=9, card=5)
    req_id = db.session.scalar(
        sa.select(RequestLine.request_id).join(Bin).where(Bin.code == "A/10")
    )
    sending.mark_sent(req_id)
    db.session.commit()
    make_bin("B-03", zone="Aisle B", supplier="Acme", on_hand=0, card=5)  # replenish


def codes(**kw: object) -> list[str]:
    return [lb.code for lb in ls.select_labels(ls.selection(**kw))]  # type: ignore[arg-type]


def refused(code: str, **kw: object) -> ServiceError:
    with pytest.raises(ServiceError) as err:
        ls.select_labels(ls.selection(**kw))  # type: ignore[arg-type]
    assert err.value.code == code
    assert err.value.status == 400
    return err.value


def test_no_criteria_selects_every_active_bin_ordered_by_zone_then_code(site: object) -> None:
    assert codes() == ["A-01", "A-02", "A/10", "B-01", "B-02", "B-03"]


def test_zone_selects_exactly_the_bins_in_that_zone(site: object) -> None:
    assert codes(zone="Aisle B") == ["B-01", "B-02", "B-03"]
    assert codes(zone="  aisle a ") == ["A-01", "A-02", "A/10"]  # as typed on a command line


def test_supplier_selects_exactly_that_suppliers_bins(site: object) -> None:
    assert codes(supplier="Bolt & Co") == ["A-02", "B-01"]
    assert codes(supplier="acme") == ["A-01", "A/10", "B-02", "B-03"]


def test_state_selects_exactly_the_bins_in_that_card_state(site: object) -> None:
    assert codes(state="replenish") == ["A-02", "B-03"]
    assert codes(state="ordered") == ["A/10"]
    assert codes(state="Stocked") == ["A-01", "B-01", "B-02"]


def test_explicit_codes_select_only_those_bins_whatever_their_case_and_separators(
    site: object,
) -> None:
    assert codes(bins="b-03, a-01\nA/10;A-01") == ["A-01", "A/10", "B-03"]
    assert codes(bins=["B-01", "a-02"]) == ["A-02", "B-01"]


def test_criteria_combine(site: object) -> None:
    assert codes(zone="Aisle B", supplier="Acme") == ["B-02", "B-03"]
    assert codes(zone="Aisle B", supplier="Acme", state="replenish") == ["B-03"]
    assert codes(zone="Aisle A", bins="A-01,B-01") == ["A-01"]


def test_inactive_bins_are_left_out_unless_named(site: object) -> None:
    db.session.execute(sa.update(Bin).where(Bin.code == "A-01").values(active=False))
    db.session.commit()
    assert "A-01" not in codes()
    assert "A-01" not in codes(zone="Aisle A")
    assert codes(bins="A-01") == ["A-01"]


def test_unknown_zone_or_supplier_is_a_clear_error_naming_the_known_ones(site: object) -> None:
    err = refused("unknown_zone", zone="Aisle Z")
    assert "Aisle Z" in err.message and "Aisle A" in err.message and "Aisle B" in err.message
    err = refused("unknown_supplier", supplier="Nobody Ltd")
    assert "Nobody Ltd" in err.message and "Acme" in err.message


def test_unknown_and_invalid_codes_are_named_in_the_error(site: object) -> None:
    err = refused("unknown_bin", bins="A-01, ZZ-9, ZZ-8")
    assert "ZZ-9" in err.message and "ZZ-8" in err.message and "A-01" not in err.message
    err = refused("invalid_bin_code", bins="A-01 <script> é")
    assert "<SCRIPT>" in err.message
    refused("invalid_state", state="lost")


def test_a_selection_matching_nothing_is_an_error(site: object) -> None:
    err = refused("no_bins", zone="Aisle A", state="stocked", supplier="Bolt & Co")
    assert "zone Aisle A" in err.message


def test_empty_site_has_nothing_to_print(app: object) -> None:
    refused("no_bins")


def test_label_carries_what_the_bin_card_says(make_bin: Callable[..., str]) -> None:
    make_bin("C-7", zone="Paint shop", supplier="Würth", card=12, order=40, sku="PAINT-1")
    assert ls.select_labels(ls.selection(bins="c-7")) == [
        LabelData(code="C-7", item_name="Part in C-7", sku="PAINT-1", zone="Paint shop",
                  card_quantity=12, order_quantity=40, supplier="Würth", unit="ea")
    ]  # fmt: skip


@contextmanager
def count_queries() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: object, _cur: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def test_selecting_labels_takes_the_same_queries_for_3_or_30_bins(
    make_bin: Callable[..., str],
) -> None:
    for i in range(3):
        make_bin(f"S-{i:02d}", zone="Small", supplier=f"Sup {i}")
    for i in range(30):
        make_bin(f"L-{i:02d}", zone="Large", supplier=f"Sup {i % 7}")
    db.session.expire_all()
    with count_queries() as small:
        assert len(ls.select_labels(ls.selection(zone="Small"))) == 3
    db.session.expire_all()
    with count_queries() as large:
        assert len(ls.select_labels(ls.selection(zone="Large"))) == 30
    assert len(small) == len(large) == 2  # the zone's id, then the bins with all they need


# --------------------------------------------------------------------------- options (no DB)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"fmt": "docx"}, "invalid_format"),
        ({"preset": "a5-2x2"}, "invalid_preset"),
        ({"fmt": "zpl", "dpi": 600}, "invalid_dpi"),
        ({"fmt": "pdf", "dpi": 300}, "invalid_dpi"),
        ({"fmt": "png", "dpi": 10}, "invalid_dpi"),
        ({"copies": 0}, "invalid_copies"),
        ({"copies": 101}, "invalid_copies"),
        ({"fmt": "png", "copies": 2}, "invalid_copies"),
        ({"start": 25}, "invalid_start"),  # a4-3x8 has 24 positions
        ({"fmt": "zpl", "start": 2}, "invalid_start"),
    ],
)
def test_bad_options_are_refused_with_a_clear_error(kwargs: dict[str, object], code: str) -> None:
    fmt = str(kwargs.pop("fmt", "pdf"))
    with pytest.raises(ServiceError) as err:
        lo.options(fmt, **kwargs)  # type: ignore[arg-type]
    assert (err.value.code, err.value.status) == (code, 400)
    assert err.value.message


def test_options_default_to_the_format_s_usual_stock() -> None:
    assert lo.options("pdf") == lo.RenderOptions("pdf", "a4-3x8", None, 1, 1)
    assert lo.options("zpl") == lo.RenderOptions("zpl", "thermal-4x6", 203, 1, 1)
    assert lo.options("png", preset="thermal-2x1").preset == "thermal-2x1"
    assert lo.options("pdf", preset="letter-3x10", start=30).start == 30


def test_sheet_cells_follow_the_pdf_layout_with_copies_and_start() -> None:
    opts = lo.options("pdf", copies=2, start=23)
    pages = lo.sheet_cells(["A", "B", "C"], opts)
    assert pages == [[None] * 22 + ["A", "A"], ["B", "B", "C", "C"]]
    assert lo.page_count(3, opts) == 2
    assert lo.summary(3, opts) == "6 labels, 2 pages"
    assert lo.summary(1, lo.options("pdf", preset="thermal-2x1")) == "1 label, 1 page"


def test_file_names_are_filesystem_safe_and_distinct() -> None:
    assert label_files.file_stem("A-01-03") == "A-01-03"
    assert label_files.file_stem("A/1") == "A%2F1"
    assert label_files.file_stem("A/1") != label_files.file_stem("A_1")
    assert "/" not in label_files.file_stem("X/Y/Z")


def test_rendered_files_decode_to_their_codes() -> None:
    labels = [LabelData(c, "Nut", "N-1", "Z", 5, 10, "Acme") for c in ("A/1", "B-2")]
    pngs = label_files.render_files(labels, lo.options("png"))
    assert [f.name for f in pngs] == ["A%2F1.png", "B-2.png"]
    for f, lb in zip(pngs, labels, strict=True):
        img = Image.open(io.BytesIO(f.data)).convert("L")
        assert [r.data.decode() for r in pyzbar.decode(img)] == [lb.code]
        assert [r.text for r in zxingcpp.read_barcodes(img)] == [lb.code]
    (pdf,) = label_files.render_files(labels, lo.options("pdf", preset="letter-3x10"))
    assert pdf.name.startswith("labels-letter-3x10-") and pdf.name.endswith(".pdf")
    assert pdf.data.startswith(b"%PDF")
    (zpl,) = label_files.render_files(labels, lo.options("zpl", dpi=300))
    assert zpl.name.startswith("labels-thermal-4x6-300dpi-") and zpl.name.endswith(".zpl")
    assert zpl.data.count(b"^BC") == 2 and b"^FDA/1^FS" in zpl.data
