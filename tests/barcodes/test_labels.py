"""Bin labels round-trip through real decoders at the printed resolution (docs/manual/spec.md §5).

Every barcode the renderer prints is decoded back with both pyzbar (zbar) and zxing-cpp
and must give exactly its bin code, for every preset and output format. The geometry is
checked too: bars are whole printer dots, edges fall on the dot grid (no grey
resampling), quiet zones are clear and nothing spills outside the label.
"""

from __future__ import annotations

import ctypes
import io
import math
import re
import xml.etree.ElementTree as ET

import pypdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest
import zxingcpp
from barcode.charsets import code128 as c128
from PIL import Image, ImageDraw
from pyzbar import pyzbar

from kanban.barcodes.labels import (
    PRESETS,
    QUIET_ZONE_MODULES,
    ZPL_DPIS,
    LabelData,
    LabelError,
    Preset,
    barcode_geometry,
    code128_modules,
    render_pdf,
    render_png,
    render_svg,
    render_zpl,
    zpl_code128_modules,
)
from kanban.barcodes.zpl import ZplLabel, clean_text, parse_zpl
from kanban.domain.codes import BIN_CODE_ALPHABET, BIN_CODE_RE, MAX_BIN_CODE_LENGTH

LONGEST = "ZZ-99.88/77_66-5"
CODES = [
    "A-01-03",  # the typical shape
    LONGEST,  # 16 characters, all in code set B: the widest symbol
    "9/ZONE_B.12-3",  # starts with a digit, every punctuation class
    "0123456789012345",  # 16 digits: python-barcode switches to code set C
    "QWERTYUIOPLKJHGF",  # 16 letters
    "X.Y_Z/W-V",
    "7",  # the shortest code
]
LONG_TEXT = (
    "Hex socket cap screw M6×20 DIN 912 A2 stainless, box of 100 — "
    "reorder from the framework agreement only"
)


def _label(code: str, i: int = 0, **kw: object) -> LabelData:
    data: dict[str, object] = {
        "code": code,
        "item_name": f"Hex nut M{6 + i} zinc" if i % 2 == 0 else LONG_TEXT,
        "sku": f"SKU-{1000 + i}",
        "zone": "Assembly line 3 (north mezzanine)" if i % 3 == 0 else "Z1",
        "card_quantity": 10 + i,
        "order_quantity": 100 + i,
        "supplier": "Würth Industrie Service GmbH & Co. KG" if i % 2 else "ACME",
    }
    data.update(kw)
    return LabelData(**data)  # type: ignore[arg-type]


LABELS = [_label(code, i) for i, code in enumerate(CODES)]


def test_codes_cover_every_character_class() -> None:
    used = set("".join(CODES))
    assert set(BIN_CODE_ALPHABET) & set("._/-") <= used
    assert any(c.isupper() for c in used) and any(c.isdigit() for c in used)
    assert all(BIN_CODE_RE.fullmatch(c) for c in CODES)
    assert len(LONGEST) == MAX_BIN_CODE_LENGTH


# --------------------------------------------------------------------------- helpers


def decode_both(img: Image.Image) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Every symbol each engine finds: (type, text)."""
    zbar = [(r.type, r.data.decode("utf-8")) for r in pyzbar.decode(img)]
    zx = [(r.format.name, r.text) for r in zxingcpp.read_barcodes(img)]
    return zbar, zx


def assert_decodes_to(img: Image.Image, code: str) -> None:
    zbar, zx = decode_both(img)
    assert zbar == [("CODE128", code)], f"pyzbar read {zbar} for {code!r}"
    assert zx == [("Code128", code)], f"zxing-cpp read {zx} for {code!r}"


def dots(mm: float, dpi: int) -> int:
    return round(mm * dpi / 25.4)


def assert_bars_exact(img: Image.Image, code: str, preset: str, dpi: int, ox: int, oy: int):
    """The bars sit exactly where the geometry says, one solid dot per module unit.

    ``ox, oy``: the label's top-left corner in the image. A tolerance of a few grey
    levels absorbs anti-aliasing rounding; an edge off the dot grid would give ~50 % grey.
    """
    g = barcode_geometry(code, preset, dpi)
    assert g.pattern == code128_modules(code)
    qz = QUIET_ZONE_MODULES * g.module_dots
    x0 = ox + g.left_dots
    assert x0 - qz >= ox, "left quiet zone leaves the label"
    assert x0 + g.width_dots + qz <= ox + dots(PRESETS[preset].label_width_mm, dpi)
    expected = [0 if bit == "1" else 255 for bit in g.pattern for _ in range(g.module_dots)]
    for row in (0, g.height_dots // 2, g.height_dots - 1):
        y = oy + g.top_dots + row
        got = [img.getpixel((x0 + i, y)) for i in range(g.width_dots)]
        bad = [i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if abs(a - b) > 4]
        assert not bad, f"{code} row {row}: pixels {bad[:5]} are not crisp bars/spaces"
        quiet = [img.getpixel((x, y)) for x in range(x0 - qz, x0)]
        quiet += [img.getpixel((x, y)) for x in range(x0 + g.width_dots, x0 + g.width_dots + qz)]
        assert min(quiet) >= 250, f"{code}: quiet zone is not clear"


def rasterise(pdf: bytes, dpi: int) -> list[Image.Image]:
    """Each page at exactly ``dpi`` (scale dpi/72, no stretching to a rounded size).

    ``PdfPage.render`` stretches the page to a whole-pixel bitmap, which moves every
    edge by a fraction of a pixel on A4; a printer driver does not, so neither do we.
    """
    doc = pdfium.PdfDocument(pdf)
    pages = []
    scale = dpi / 72
    for page in doc:
        w, h = round(page.get_width() * scale), round(page.get_height() * scale)
        bitmap = pdfium.PdfBitmap.new_native(w, h, pdfium_raw.FPDFBitmap_Gray)
        bitmap.fill_rect((255, 255, 255, 255), 0, 0, w, h)
        matrix = pdfium_raw.FS_MATRIX(scale, 0, 0, scale, 0, 0)
        clip = pdfium_raw.FS_RECTF(0, 0, w, h)
        pdfium_raw.FPDF_RenderPageBitmapWithMatrix(
            bitmap, page, ctypes.byref(matrix), ctypes.byref(clip), 0
        )
        pages.append(bitmap.to_pil().copy())
    doc.close()
    return pages


def cell_box(preset: Preset, position: int) -> tuple[int, int, int, int]:
    x, y = preset.label_origin_mm(position)
    return (
        dots(x, preset.dpi),
        dots(y, preset.dpi),
        dots(x + preset.label_width_mm, preset.dpi),
        dots(y + preset.label_height_mm, preset.dpi),
    )


def expected_layout(preset: Preset, codes: list[str], copies: int, start: int):
    """{(page index, position): code} for labels printed with copies and a start position."""
    out: dict[tuple[int, int], str] = {}
    slot = start - 1
    for code in codes:
        for _ in range(copies):
            page, pos = divmod(slot, preset.per_page)
            out[(page, pos + 1)] = code
            slot += 1
    return out


# --------------------------------------------------------------------------- PDF


@pytest.mark.parametrize("preset_name", list(PRESETS))
def test_pdf_every_cell_decodes_to_its_code(preset_name: str) -> None:
    preset = PRESETS[preset_name]
    copies = 2
    # Sheets: start near the end of a partly used sheet so the job spans two pages.
    start = preset.per_page - 4 if preset.per_page > 1 else 1
    calls: list[tuple[int, int]] = []
    pdf = render_pdf(
        LABELS,
        preset=preset_name,
        copies=copies,
        start_position=start,
        progress=lambda done, total: calls.append((done, total)),
    )
    total = len(LABELS) * copies
    assert calls == [(i, total) for i in range(1, total + 1)]

    layout = expected_layout(preset, CODES, copies, start)
    n_pages = math.ceil((start - 1 + total) / preset.per_page)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == n_pages
    pages = rasterise(pdf, preset.dpi)
    assert len(pages) == n_pages
    page_px = (dots(preset.page_width_mm, preset.dpi), dots(preset.page_height_mm, preset.dpi))
    for index, page in enumerate(pages):
        assert page.size == page_px
        ink_mask = Image.new("L", page.size, 0)
        for position in range(1, preset.per_page + 1):
            box = cell_box(preset, position)
            cell = page.crop(box)
            ImageDraw.Draw(ink_mask).rectangle((box[0], box[1], box[2] - 1, box[3] - 1), 255)
            code = layout.get((index, position))
            if code is None:
                assert decode_both(cell) == ([], []), f"blank cell {position} decoded"
                assert cell.getextrema() == (255, 255), f"blank cell {position} has ink"
                continue
            assert_decodes_to(cell, code)
            assert_bars_exact(page, code, preset_name, preset.dpi, box[0], box[1])
        # Nothing outside the label cells: no text or bar overflows its label.
        outside = Image.composite(Image.new("L", page.size, 255), page, ink_mask)
        assert outside.getextrema()[0] >= 250


@pytest.mark.parametrize("preset_name", list(PRESETS))
def test_pdf_page_size_and_count(preset_name: str) -> None:
    preset = PRESETS[preset_name]
    w_pt = preset.page_width_mm / 25.4 * 72
    h_pt = preset.page_height_mm / 25.4 * 72
    cases = [(1, 1, 1), (len(LABELS), 3, 1), (len(LABELS), 1, preset.per_page)]
    for n, copies, start in cases:
        pdf = render_pdf(LABELS[:n], preset=preset_name, copies=copies, start_position=start)
        reader = pypdf.PdfReader(io.BytesIO(pdf))
        assert len(reader.pages) == math.ceil((start - 1 + n * copies) / preset.per_page)
        for page in reader.pages:
            assert float(page.mediabox.width) == pytest.approx(w_pt, abs=0.01)
            assert float(page.mediabox.height) == pytest.approx(h_pt, abs=0.01)


def test_pdf_known_page_sizes_in_points() -> None:
    assert PRESETS["a4-3x8"].page_width_mm / 25.4 * 72 == pytest.approx(595.276, abs=0.001)
    assert PRESETS["letter-3x10"].page_height_mm / 25.4 * 72 == pytest.approx(792.0)
    assert PRESETS["thermal-4x6"].page_width_mm / 25.4 * 72 == pytest.approx(288.0)
    assert PRESETS["thermal-2x1"].page_height_mm / 25.4 * 72 == pytest.approx(72.0)


def test_pdf_is_deterministic() -> None:
    assert render_pdf(LABELS[:3]) == render_pdf(LABELS[:3])


def test_pdf_text_is_present_and_truncated() -> None:
    label = _label("A-01-03", 1)
    pdf = render_pdf([label], preset="letter-3x10")
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "A-01-03" in text and "SKU-1001" in text and "Card qty: 11 ea" in text
    assert LONG_TEXT not in text and "…" in text


# --------------------------------------------------------------------------- presets


def test_presets_fit_their_pages() -> None:
    assert {"a4-3x8", "letter-3x10", "thermal-4x6", "thermal-2x1"} <= set(PRESETS)
    for p in PRESETS.values():
        right = p.margin_left_mm + p.columns * p.label_width_mm + (p.columns - 1) * p.gap_x_mm
        bottom = p.margin_top_mm + p.rows * p.label_height_mm + (p.rows - 1) * p.gap_y_mm
        assert right <= p.page_width_mm + 1e-9 and bottom <= p.page_height_mm + 1e-9
        assert p.per_page == p.columns * p.rows
    assert PRESETS["a4-3x8"].per_page == 24 and PRESETS["letter-3x10"].per_page == 30
    assert PRESETS["thermal-4x6"].dpi == 203 and PRESETS["a4-3x8"].dpi == 300


def test_module_width_is_the_largest_that_fits() -> None:
    # Printable width is the label less a padding of 1.5-4 mm each side, so one more dot
    # per module must not fit in (label width - 8 mm) unless the ceiling of 10 dots applies
    # (ZPL's ^BY maximum, used by every format up to 300 dpi).
    for name, p in PRESETS.items():
        for dpi in {p.dpi, 203, 300, 600}:
            label_w = dots(p.label_width_mm, dpi)
            for code in CODES:
                g = barcode_geometry(code, name, dpi)
                needed = len(g.pattern) + 2 * QUIET_ZONE_MODULES
                assert needed * g.module_dots <= label_w - 2 * dots(1.5, dpi)
                assert g.module_dots == 10 * max(1, dpi // 300) or needed * (
                    g.module_dots + 1
                ) > label_w - dots(8, dpi)
                assert g.module_mm == pytest.approx(g.module_dots * 25.4 / dpi)


# --------------------------------------------------------------------------- PNG


@pytest.mark.parametrize("preset_name", list(PRESETS))
def test_png_decodes_at_preset_203_and_300_dpi(preset_name: str) -> None:
    p = PRESETS[preset_name]
    for dpi in sorted({p.dpi, 203, 300}):
        for label in LABELS:
            png = render_png(label, preset=preset_name, dpi=dpi)
            img = Image.open(io.BytesIO(png))
            assert img.size == (dots(p.label_width_mm, dpi), dots(p.label_height_mm, dpi))
            assert round(img.info["dpi"][0]) == dpi
            img = img.convert("L")
            assert_decodes_to(img, label.code)
            assert_bars_exact(img, label.code, preset_name, dpi, 0, 0)


@pytest.mark.parametrize("preset_name", list(PRESETS))
def test_png_text_never_leaves_the_label(preset_name: str) -> None:
    p = PRESETS[preset_name]
    label = _label(LONGEST, 1, item_name="W" * 200, sku="M" * 80, supplier="Ж" * 120)
    img = Image.open(io.BytesIO(render_png(label, preset=preset_name))).convert("L")
    pad = dots(1.5, p.dpi) - 2  # the smallest padding any preset uses, less a glyph bearing
    w, h = img.size
    for box in ((0, 0, pad, h), (w - pad, 0, w, h), (0, 0, w, pad), (0, h - pad, w, h)):
        assert img.crop(box).getextrema()[0] == 255, f"ink in the border {box}"


def test_png_default_dpi_is_the_presets() -> None:
    img = Image.open(io.BytesIO(render_png(LABELS[0], preset="thermal-2x1")))
    assert img.size == (406, 203)


# --------------------------------------------------------------------------- SVG


SVG_NS = "{http://www.w3.org/2000/svg}"


def parse_svg(svg: str) -> ET.Element:
    # The SVG is our renderer's own output, not untrusted input.
    return ET.fromstring(svg)  # noqa: S314


@pytest.mark.parametrize("preset_name", list(PRESETS))
def test_svg_has_code_text_and_exact_bars(preset_name: str) -> None:
    p = PRESETS[preset_name]
    for label in LABELS:
        svg = render_svg(label, preset=preset_name)
        root = parse_svg(svg)
        assert root.tag == f"{SVG_NS}svg"
        assert float(root.get("width", "").removesuffix("mm")) == pytest.approx(p.label_width_mm)
        assert float(root.get("height", "").removesuffix("mm")) == pytest.approx(
            p.label_height_mm, abs=0.001
        )
        texts = [t.text for t in root.iter(f"{SVG_NS}text")]
        assert label.code in texts
        group = next(g for g in root.iter(f"{SVG_NS}g") if g.get("id") == "barcode")
        module = int(group.get("data-module-dots", "0"))
        rects = list(group.iter(f"{SVG_NS}rect"))
        assert rects
        # Rebuild the module string from the rects: every edge is a whole dot.
        xs = [(int(r.get("x", "")), int(r.get("width", ""))) for r in rects]
        left = xs[0][0]
        pattern = ["0"] * ((xs[-1][0] + xs[-1][1] - left) // module)
        for x, w in xs:
            assert (x - left) % module == 0 and w % module == 0
            for i in range((x - left) // module, (x - left + w) // module):
                pattern[i] = "1"
        assert "".join(pattern) == code128_modules(label.code)
        # Draw the rects at one dot per pixel: both engines read them.
        vw, vh = (float(v) for v in root.get("viewBox", "").split()[2:])
        img = Image.new("L", (math.ceil(vw), math.ceil(vh)), 255)
        draw = ImageDraw.Draw(img)
        for r in rects:
            x, y, w, h = (int(r.get(k, "")) for k in ("x", "y", "width", "height"))
            draw.rectangle((x, y, x + w - 1, y + h - 1), fill=0)
        assert_decodes_to(img, label.code)


def test_svg_escapes_markup_in_user_text() -> None:
    label = _label("A-01-03", item_name='<i>"x"</i> & Co', supplier="a]]>b")
    root = parse_svg(render_svg(label, preset="thermal-4x6"))
    texts = [t.text or "" for t in root.iter(f"{SVG_NS}text")]
    assert '<i>"x"</i> & Co' in texts and "Supplier: a]]>b" in texts
    assert not list(root.iter(f"{SVG_NS}script"))


def test_svg_truncates_long_text() -> None:
    root = parse_svg(render_svg(_label("A-01-03", 1), preset="thermal-2x1"))
    texts = [t.text or "" for t in root.iter(f"{SVG_NS}text")]
    assert texts[1].endswith("…") and LONG_TEXT.startswith(texts[1][:-1].rstrip())


def test_item_name_wraps_on_tall_labels() -> None:
    root = parse_svg(render_svg(_label("A-01-03", 1), preset="thermal-4x6"))
    texts = [t.text or "" for t in root.iter(f"{SVG_NS}text")]
    assert_pieces_of(texts[1:3], LONG_TEXT)
    assert not texts[1].endswith("…") and not texts[2].startswith("SKU")


# --------------------------------------------------------------------------- ZPL

ALLOWED_ZPL = {"CI", "PW", "LL", "LH", "FO", "A0", "FB", "FH", "FD", "FS", "BY", "BC", "PQ", "XZ"}


def zpl_subset_b_pattern(data: str) -> str:
    """What a Zebra prints for ``^BC`` mode N: subset B start, data, checksum, stop."""
    values = [c128.START_CODES["B"]] + [c128.B[ch] for ch in data]
    check = (values[0] + sum(i * v for i, v in enumerate(values[1:], start=1))) % 103
    return "".join(c128.CODES[v] for v in [*values, check]) + c128.STOP + "11"


def assert_pieces_of(lines: list[str], original: str) -> None:
    """``lines`` are ``original`` wrapped and perhaps cut short with an ellipsis."""
    pos = 0
    for line in lines:
        piece = line.removesuffix("…").rstrip()
        found = original.find(piece, pos)
        assert found >= 0, f"{line!r} is not the next piece of {original!r}"
        pos = found + len(piece)
    if not lines[-1].endswith("…"):
        assert pos == len(original)


def check_zpl_label(zl: ZplLabel, label: LabelData, preset: Preset, dpi: int) -> None:
    assert {name for name, _ in zl.commands} <= ALLOWED_ZPL
    assert zl.charset == "28"
    assert zl.width == dots(preset.label_width_mm, dpi)
    assert zl.length == dots(preset.label_height_mm, dpi)
    (bc,) = zl.barcode_fields
    assert bc.data == label.code
    assert bc.module is not None and 1 <= bc.module <= 10
    assert bc.barcode is not None
    height, mode = bc.barcode
    width = zpl_code128_modules(label.code) * bc.module
    assert len(zpl_subset_b_pattern(label.code)) == zpl_code128_modules(label.code)
    qz = QUIET_ZONE_MODULES * bc.module
    assert bc.x - qz >= 0 and bc.x + width + qz <= zl.width
    assert bc.y >= 0 and bc.y + height <= zl.length
    texts = zl.text_fields
    assert len(texts) in (7, 8)  # the item name may take two lines
    for f in texts:
        assert f.font is not None and f.block is not None
        assert f.x >= 0 and f.x + f.block[0] <= zl.width
        assert f.y >= 0 and f.y + f.font[0] <= zl.length
        assert f.block[1] == 1  # one line: nothing wraps out of the block
        # Text fields never overlap the barcode.
        assert f.y + f.font[0] <= bc.y or f.y >= bc.y + height
    data = [f.data or "" for f in texts]
    assert data[0] == label.code
    assert_pieces_of(data[1 : len(texts) - 5], clean_text(label.item_name))
    prefixes = ("SKU: ", "Zone: ", "Card qty: ", "Order qty: ", "Supplier: ")
    assert all(d.startswith(p) for d, p in zip(data[-5:], prefixes, strict=True))
    assert data[-3].startswith(f"Card qty: {label.card_quantity}")


def render_zpl_barcode(zl: ZplLabel) -> Image.Image:
    """Draw the ^BC field the way the printer does, one dot per pixel."""
    (bc,) = zl.barcode_fields
    assert zl.width and zl.length and bc.module and bc.barcode
    img = Image.new("L", (zl.width, zl.length), 255)
    draw = ImageDraw.Draw(img)
    for i, bit in enumerate(zpl_subset_b_pattern(bc.data or "")):
        if bit == "1":
            x = bc.x + i * bc.module
            draw.rectangle((x, bc.y, x + bc.module - 1, bc.y + bc.barcode[0] - 1), fill=0)
    return img


@pytest.mark.parametrize("dpi", ZPL_DPIS)
@pytest.mark.parametrize("preset_name", list(PRESETS))
def test_zpl_structure_and_barcode(preset_name: str, dpi: int) -> None:
    preset = PRESETS[preset_name]
    zpl = render_zpl(LABELS, preset=preset_name, dpi=dpi)
    assert "~" not in zpl
    assert zpl.count("^XA") == zpl.count("^XZ") == len(LABELS)
    parsed = parse_zpl(zpl)
    assert len(parsed) == len(LABELS)
    for zl, label in zip(parsed, LABELS, strict=True):
        assert zl.copies == 1
        check_zpl_label(zl, label, preset, dpi)
        assert_decodes_to(render_zpl_barcode(zl), label.code)


def test_zpl_copies_use_pq() -> None:
    parsed = parse_zpl(render_zpl(LABELS[:3], copies=5))
    assert [zl.copies for zl in parsed] == [5, 5, 5]
    assert [zl.barcode_fields[0].data for zl in parsed] == CODES[:3]


@pytest.mark.parametrize("preset_name", ["thermal-4x6", "thermal-2x1"])
def test_zpl_user_text_cannot_inject_commands(preset_name: str) -> None:
    evil = "x^XZ~JA_41\\&"
    long_evil = "Bolt ^XZ^XA^FO0,0^GB999,999,999^FS~JA~DGR:X_41\\&end ^XA^XZ~JA" * 3
    labels = [
        _label("A-01-03", item_name=evil, sku="^FS", zone="~", supplier="_5E"),
        _label("B-02", item_name=long_evil, sku=long_evil, zone=long_evil, supplier=long_evil),
    ]
    zpl = render_zpl(labels, preset=preset_name, dpi=300)
    assert "~" not in zpl
    assert zpl.count("^XA") == 2 and zpl.count("^XZ") == 2
    assert "^GB" not in zpl and "^FO0,0" not in zpl
    parsed = parse_zpl(zpl)
    for zl, label in zip(parsed, labels, strict=True):
        check_zpl_label(zl, label, PRESETS[preset_name], 300)
    data = [f.data for f in parsed[0].text_fields]
    assert data[1] == evil
    assert "SKU: ^FS" in data and "Zone: ~" in data and "Supplier: _5E" in data


def test_zpl_strips_newlines_and_control_characters() -> None:
    label = _label("A-01-03", item_name="Line one\nline\ttwo\x00\x1b")
    (zl,) = parse_zpl(render_zpl([label]))
    assert zl.text_fields[1].data == "Line one line two"


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "bad_code", ["", "a-01-03", "-A01", "A 01", "A+1", "Ä1", "A" * 17, "A-01-03\n", None]
)
def test_invalid_bin_codes_raise(bad_code: object) -> None:
    label = _label(bad_code)  # type: ignore[arg-type]
    with pytest.raises(LabelError):
        render_png(label)
    with pytest.raises(LabelError):
        render_svg(label)
    with pytest.raises(LabelError):
        render_pdf([LABELS[0], label])
    with pytest.raises(LabelError):
        render_zpl([label])


def test_bad_options_raise() -> None:
    with pytest.raises(LabelError):
        render_png(LABELS[0], preset="a4-99")
    with pytest.raises(LabelError):
        render_svg(LABELS[0], preset="")
    with pytest.raises(LabelError):
        render_pdf(LABELS, preset="letter")
    with pytest.raises(LabelError):
        render_zpl(LABELS, preset="zebra")
    for copies in (0, -1, 101):
        with pytest.raises(LabelError):
            render_pdf(LABELS, copies=copies)
        with pytest.raises(LabelError):
            render_zpl(LABELS, copies=copies)
    for name, p in PRESETS.items():
        for start in (0, p.per_page + 1):
            with pytest.raises(LabelError):
                render_pdf(LABELS, preset=name, start_position=start)
    for dpi in (0, 150, 600):
        with pytest.raises(LabelError):
            render_zpl(LABELS, dpi=dpi)
    with pytest.raises(LabelError):
        render_png(LABELS[0], dpi=10)
    with pytest.raises(LabelError):
        render_pdf([])
    assert issubclass(LabelError, ValueError)


def test_code_too_long_to_fit_raises() -> None:
    # 2 in at 96 dpi is 192 dots; the widest 16-character symbol needs 231 with quiet zones.
    with pytest.raises(LabelError, match="too long"):
        render_png(_label(LONGEST), preset="thermal-2x1", dpi=96)
    # A short code still fits at that resolution.
    render_png(_label("A-1"), preset="thermal-2x1", dpi=96)


def test_errors_are_raised_before_progress_starts() -> None:
    calls: list[tuple[int, int]] = []
    with pytest.raises(LabelError):
        render_pdf([LABELS[0], _label("bad code")], progress=lambda d, t: calls.append((d, t)))
    assert calls == []


def test_zpl_field_data_regex_sanity() -> None:
    # The barcode field is sent raw (bin codes have no ZPL specials); guard that assumption.
    assert not re.search(r"[\^~\\>]", BIN_CODE_ALPHABET)
