"""``kanban labels``: the files it writes decode to exactly the selected bins."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pypdf
import pytest
import sqlalchemy as sa
import zxingcpp
from flask import Flask
from PIL import Image
from pyzbar import pyzbar

from kanban.barcodes.labels import PRESETS
from kanban.extensions import db
from kanban.models import Bin

from .barcodes.test_labels import rasterise


@pytest.fixture
def site(make_bin: Callable[..., str]) -> None:
    make_bin("A-01", zone="Aisle A", supplier="Acme", on_hand=9, card=5)
    make_bin("A/02", zone="Aisle A", supplier="Bolt & Co", on_hand=1, card=5)  # replenish
    make_bin("B-01", zone="Aisle B", supplier="Acme", on_hand=9, card=5)
    make_bin("B-02", zone="Aisle B", supplier="Bolt & Co", on_hand=9, card=5)


def run(runner: Any, *args: str) -> Any:
    return runner.invoke(args=["labels", *args])


def written(result: Any) -> list[Path]:
    """The files the command says it wrote (one path per line on stdout)."""
    assert result.exit_code == 0, result.output
    paths = [Path(line) for line in result.stdout.splitlines()]
    assert paths and all(p.is_file() for p in paths)
    return paths


def decoded(img: Image.Image) -> tuple[list[str], list[str]]:
    """Code 128 symbols on an image, left to right then top to bottom: (pyzbar, zxing-cpp)."""
    zbar = sorted(pyzbar.decode(img), key=lambda r: (r.rect.top // 50, r.rect.left))
    zx = sorted(
        zxingcpp.read_barcodes(img),
        key=lambda r: (r.position.top_left.y // 50, r.position.top_left.x),
    )
    assert all(r.type == "CODE128" for r in zbar) and all(r.format.name == "Code128" for r in zx)
    return [r.data.decode() for r in zbar], [r.text for r in zx]


def cell(page: Image.Image, position: int, preset: str = "a4-3x8", dpi: int = 300) -> Image.Image:
    """The label at ``position`` cut out of a page rendered at ``dpi``."""
    p = PRESETS[preset]
    x, y = p.label_origin_mm(position)
    box = (x, y, x + p.label_width_mm, y + p.label_height_mm)
    return page.crop(tuple(round(v * dpi / 25.4) for v in box))  # type: ignore[arg-type]


def zpl_codes(text: str) -> list[str]:
    return re.findall(r"\^BCN,[^\^]*\^FD([^\^]*)\^FS", text)


def test_pdf_for_a_zone_decodes_to_exactly_that_zones_bins(
    runner: Any, site: None, tmp_path: Path
) -> None:
    result = run(runner, "--zone", "Aisle A", "--out", str(tmp_path / "out"))
    (pdf,) = written(result)
    assert pdf.parent == tmp_path / "out"
    assert re.fullmatch(r"labels-a4-3x8-\d{8}-\d{6}\.pdf", pdf.name)
    (page,) = rasterise(pdf.read_bytes(), 300)
    assert decoded(page) == (["A-01", "A/02"], ["A-01", "A/02"])
    assert "2 label(s)" in result.stderr and "zone Aisle A" in result.stderr


def test_png_writes_one_decodable_file_per_bin_with_safe_names(
    runner: Any, site: None, tmp_path: Path
) -> None:
    paths = written(
        run(runner, "--bins", "a/02,B-01", "--format", "png", "--out", str(tmp_path / "out"))
    )
    assert sorted(p.name for p in paths) == ["A%2F02.png", "B-01.png"]
    for path, code in zip(sorted(paths), ["A/02", "B-01"], strict=True):
        img = Image.open(path)
        assert round(img.info["dpi"][0]) == 300
        assert decoded(img.convert("L")) == ([code], [code])


def test_svg_per_bin_carries_the_barcode_of_its_code(
    runner: Any, site: None, tmp_path: Path
) -> None:
    paths = written(
        run(
            runner,
            "--state",
            "replenish",
            "--format",
            "svg",
            "--preset",
            "thermal-2x1",
            "--out",
            str(tmp_path / "out"),
        )
    )
    assert [p.name for p in paths] == ["A%2F02.svg"]
    svg = ET.fromstring(paths[0].read_text())  # noqa: S314 (our own output)
    assert svg.get("width") == "50.8mm" and svg.get("height") == "25.4mm"
    bars = svg.find("{http://www.w3.org/2000/svg}g[@id='barcode']")
    assert bars is not None and bars.get("data-code") == "A/02" and len(bars) > 10


def test_zpl_for_a_supplier_at_300_dpi_uses_native_code128(
    runner: Any, site: None, tmp_path: Path
) -> None:
    (path,) = written(
        run(
            runner,
            "--supplier",
            "Bolt & Co",
            "--format",
            "zpl",
            "--dpi",
            "300",
            "--copies",
            "2",
            "--out",
            str(tmp_path / "out"),
        )
    )
    assert re.fullmatch(r"labels-thermal-4x6-300dpi-\d{8}-\d{6}\.zpl", path.name)
    text = path.read_text()
    assert zpl_codes(text) == ["A/02", "B-02"]
    assert text.count("^PQ2,") == 2 and "^PW1200" in text  # 4 in at 300 dpi


def test_state_and_explicit_bins_select_exactly_those_bins(
    runner: Any, site: None, tmp_path: Path
) -> None:
    def sel(*args: str) -> list[str]:
        (path,) = written(run(runner, *args, "--format", "zpl", "--out", str(tmp_path / "out")))
        codes = zpl_codes(path.read_text())
        path.unlink()
        return codes

    assert sel("--state", "stocked") == ["A-01", "B-01", "B-02"]
    assert sel("--state", "replenish") == ["A/02"]
    assert sel("--bins", "B-02,A-01") == ["A-01", "B-02"]
    assert sel("--zone", "aisle b", "--supplier", "acme") == ["B-01"]
    assert sel() == ["A-01", "A/02", "B-01", "B-02"]


def test_copies_and_start_position_fill_sheets_like_the_pdf_says(
    runner: Any, site: None, tmp_path: Path
) -> None:
    (pdf,) = written(
        run(
            runner,
            "--zone",
            "Aisle B",
            "--copies",
            "3",
            "--start",
            "22",
            "--out",
            str(tmp_path / "out"),
        )
    )
    assert len(pypdf.PdfReader(io.BytesIO(pdf.read_bytes())).pages) == 2  # 22, 23, 24 | 1, 2, 3
    first, second = rasterise(pdf.read_bytes(), 300)
    on_first = {pos: decoded(cell(first, pos)) for pos in range(1, 25)}
    assert on_first == {
        pos: ((["B-01"], ["B-01"]) if pos >= 22 else ([], [])) for pos in range(1, 25)
    }
    on_second = {pos: decoded(cell(second, pos)) for pos in range(1, 7)}
    assert on_second == {
        pos: ((["B-02"], ["B-02"]) if pos <= 3 else ([], [])) for pos in range(1, 7)
    }


def test_default_folder_is_labels_in_the_current_directory(
    runner: Any, app: Flask, site: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (pdf,) = written(run(runner, "--bins", "A-01"))
    assert pdf.parent == Path("labels") and (tmp_path / "labels" / pdf.name).is_file()
    app.config["LABELS_DIR"] = "spool/labels"  # what KANBAN_LABELS_DIR sets
    (png,) = written(run(runner, "--bins", "A-01", "--format", "png"))
    assert (tmp_path / "spool" / "labels" / "A-01.png").is_file() and png.name == "A-01.png"


def test_a_second_run_never_overwrites_a_sheet_file(
    runner: Any, site: None, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = written(run(runner, "--out", str(out)))
    second = written(run(runner, "--out", str(out)))
    assert first != second
    assert sorted(out.iterdir()) == sorted(first + second)  # no temporary files left behind


def test_large_runs_show_a_progress_bar(runner: Any, site: None, tmp_path: Path) -> None:
    result = run(runner, "--bins", "A-01", "--copies", "25", "--out", str(tmp_path / "out"))
    written(result)
    assert "Rendering 25 labels" in result.stderr
    assert "Rendering" not in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--zone", "Aisle Z"], "No zone is called 'Aisle Z'"),
        (["--supplier", "Nobody"], "No supplier is called 'Nobody'"),
        (["--bins", "A-01,NOPE-1"], "No bin has the code NOPE-1"),
        (["--bins", "A 01 #"], "Not a valid bin code"),
        (["--zone", "Aisle A", "--state", "ordered"], "No bins match"),
        (["--format", "zpl", "--dpi", "600"], "203 or 300"),
        (["--format", "png", "--copies", "2"], "copies apply to pdf and zpl"),
        (["--start", "25"], "start must be a whole number from 1 to 24"),
        (["--preset", "a5-2x4"], "Invalid value for '--preset'"),
        (["--format", "docx"], "Invalid value for '--format'"),
        (["--state", "lost"], "Invalid value for '--state'"),
    ],
)
def test_bad_selection_or_option_is_a_clear_error_and_writes_nothing(
    runner: Any, site: None, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "out"
    result = run(runner, *args, "--out", str(out))
    assert result.exit_code != 0
    assert message in result.stderr
    assert result.stdout == ""
    assert not out.exists()


def test_inactive_bins_are_skipped_unless_named(runner: Any, site: None, tmp_path: Path) -> None:
    db.session.execute(sa.update(Bin).where(Bin.code == "B-01").values(active=False))
    db.session.commit()
    (zpl,) = written(
        run(runner, "--zone", "Aisle B", "--format", "zpl", "--out", str(tmp_path / "out"))
    )
    assert zpl_codes(zpl.read_text()) == ["B-02"]
    (png,) = written(
        run(runner, "--bins", "B-01", "--format", "png", "--out", str(tmp_path / "out"))
    )
    assert png.name == "B-01.png"
