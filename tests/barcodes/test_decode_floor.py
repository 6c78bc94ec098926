"""Floor photos of our own labels (docs/manual/decoding.md): localisation, deskew, deblurring,
binarisation and the time budget, with the real engines.

Labels are rendered by kanban.barcodes.labels; ``tests/data/floor-*.jpg`` are small scenes of
the benchmark's seeded photo set that the engines alone cannot read.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from kanban.barcodes import decode_preprocess as pre
from kanban.barcodes.decode_images import load_grey, open_checked
from kanban.barcodes.decode_locate import crop, find_regions
from kanban.barcodes.decode_pipeline import GIVE_UP_SECONDS, run_pipeline
from kanban.barcodes.decode_zxing import read_zxing
from kanban.barcodes.labels import LabelData, render_png

DATA = Path(__file__).resolve().parent.parent / "data"
FLOOR = sorted(DATA.glob("floor-*.jpg"))


def label(code: str) -> Image.Image:
    png = render_png(LabelData(code, "Hex bolt M8", "SKU-1", "Aisle B", 5, 20, "Acme"))
    return Image.open(io.BytesIO(png)).convert("L")


def scene(code: str, angle: float, size: tuple[int, int] = (1000, 750)) -> Image.Image:
    """The label turned by ``angle`` degrees on a grey bin face."""
    face = Image.new("L", size, 110)
    turned = label(code).rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=0)
    mask = turned.point(lambda v: 255 if v > 0 else 0)
    face.paste(turned, ((size[0] - turned.width) // 2, (size[1] - turned.height) // 2), mask)
    return face


def jpeg(img: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def texts(found: list) -> list[str]:
    return [r.text for r in found]


def test_the_floor_scenes_are_found() -> None:
    assert len(FLOOR) == 4  # guards the parametrised test below against an empty folder


@pytest.mark.parametrize("path", FLOOR, ids=lambda p: p.stem)
def test_floor_photo_reads_after_localisation_and_deskew(path: Path) -> None:
    code = path.stem.split("-", 2)[2].replace("_", "/")
    data = path.read_bytes()
    assert texts(read_zxing(load_grey(open_checked(data), 1000))) == []  # alone: missed
    trace: list[str] = []
    assert texts(run_pipeline(data, None, True, trace)) == [code]
    assert "located" in trace[-1]


@pytest.mark.parametrize("angle", [35, 72, 128, 161])
def test_localisation_finds_a_turned_label_and_its_direction(angle: float) -> None:
    img = scene("A-01-03", angle)
    [best, *_] = find_regions(img)
    assert math.hypot(best.cx - 500, best.cy - 375) < 60
    # The direction across the bars is the label's own direction, modulo 180 degrees.
    diff = (best.angle + angle) % 180
    assert min(diff, 180 - diff) < 6


def test_deskew_turns_the_bars_upright_so_the_engine_reads_them() -> None:
    img = scene("B-07-12", 52)
    assert texts(read_zxing(img)) == []
    [best, *_] = find_regions(img)
    cut = crop(img, best)
    assert cut.width > cut.height
    assert texts(read_zxing(cut)) == ["B-07-12"]


def test_a_single_edge_is_not_a_barcode() -> None:
    # A blank label on a bin face with a rim: strong straight edges, but no run of bars.
    img = Image.new("L", (1000, 750), 110)
    draw = ImageDraw.Draw(img)
    draw.rectangle((300, 250, 700, 450), fill=235)
    draw.rectangle((0, 80, 1000, 110), fill=40)
    assert find_regions(img) == []


def test_deblurring_rescues_a_defocused_cut() -> None:
    img = scene("C-22-04", 0).filter(ImageFilter.GaussianBlur(3))
    [best, *_] = find_regions(img)
    cut = crop(img, best)
    assert texts(read_zxing(cut)) == []
    assert texts(read_zxing(pre.deblur(cut, 3.0))) == ["C-22-04"]


@pytest.mark.parametrize("light", ["falling", "glare"])
def test_binarisation_evens_out_uneven_light_and_glare(light: str) -> None:
    img = label("D-09-01")
    shade = Image.linear_gradient("L").rotate(90).resize(img.size)  # dark on one side
    lit = ImageChops.multiply(img, shade.point(lambda v: 60 + v * 195 // 255))
    if light == "glare":
        spot = Image.radial_gradient("L").resize(img.size).point(lambda v: max(0, 200 - v))
        lit = ImageChops.screen(lit, spot)
    assert texts(read_zxing(lit)) == []
    black_white = pre.binarise(lit, 5.0)
    assert [i for i, n in enumerate(black_white.histogram()) if n] == [0, 255]
    assert texts(read_zxing(black_white)) == ["D-09-01"]


def no_code_photo() -> bytes:
    noise = Image.effect_noise((500, 375), 40).resize((4000, 3000), Image.Resampling.BICUBIC)
    return jpeg(Image.blend(noise, Image.radial_gradient("L").resize((4000, 3000)), 0.4))


def test_a_photo_without_a_code_stops_when_the_budget_is_spent() -> None:
    blank = no_code_photo()
    everything: list[str] = []
    assert run_pipeline(blank, 30.0, True, everything) == []  # a budget nothing reaches
    spent: list[str] = []
    assert run_pipeline(blank, 0.0, True, spent) == []
    assert spent == everything[:1]  # no attempt starts once the budget is spent
    assert GIVE_UP_SECONDS <= 0.3  # the default leaves room for the last attempt in 500 ms


def test_big_photos_skip_the_whole_image_turns_small_images_keep_them() -> None:
    blank = no_code_photo()
    big: list[str] = []
    run_pipeline(blank, 30.0, True, big)
    assert not any(name.startswith(("zxing rot", "zbar rot")) for name in big)
    assert "zxing large" in big
    small: list[str] = []
    run_pipeline(jpeg(Image.new("L", (640, 480), 200)), 30.0, True, small)
    assert "zxing rot45" in small
