"""Server-side barcode decoding (kanban.barcodes.decode), with the real engines.

Generated labels, the same labels skewed and photographed, a few real photos from the public
sample set (tests/data/photo-*.webp), GTIN rules, hostile uploads and the worker pool's
failure handling (timeouts, a dying worker).
"""

from __future__ import annotations

import concurrent.futures
import io
import pickle
import random
import resource
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import barcode
import pytest
import zxingcpp
from barcode.writer import ImageWriter
from PIL import Image, ImageFilter, ImageOps

from kanban.barcodes import decode as dec
from kanban.barcodes.decode import DecodedCode, DecodeError
from kanban.barcodes.decode_images import load_grey, open_checked
from kanban.barcodes.decode_pipeline import run_pipeline
from kanban.barcodes.decode_pool import worker_processes
from kanban.barcodes.decode_results import clean_results

DATA = Path(__file__).resolve().parent.parent / "data"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def _pool() -> Iterator[None]:
    """One worker pool for the module, stopped at the end (the next user starts a new one)."""
    yield
    dec.shutdown()


# --------------------------------------------------------------------------------------------
# Image helpers
# --------------------------------------------------------------------------------------------


def code128_label(text: str) -> Image.Image:
    """A Code 128 label as python-barcode prints it (300 dpi, human-readable line)."""
    buf = io.BytesIO()
    barcode.Code128(text, writer=ImageWriter()).write(buf, {"dpi": 300})
    buf.seek(0)
    return Image.open(buf).convert("L")


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def rotated(img: Image.Image, angle: float) -> Image.Image:
    return img.rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=255)


def phone_photo(text: str, size: tuple[int, int], orientation: int = 6) -> bytes:
    """A label small on a large noisy grey canvas, stored sideways with an EXIF orientation.

    Like a phone held upright: the sensor's pixels are landscape, the tag says how to turn
    them (6: 90 degrees clockwise) for display.
    """
    width, height = size  # the upright scene (portrait)
    canvas = Image.effect_noise((width // 4, height // 4), 25).resize(
        (width, height), Image.Resampling.BILINEAR
    )
    canvas = canvas.point(lambda v: 60 + v // 2)
    label = code128_label(text)
    scale = (width / 3) / label.width
    label = label.resize((round(label.width * scale), round(label.height * scale)))
    label = label.rotate(5, Image.Resampling.BICUBIC, expand=True, fillcolor=0)
    mask = label.point(lambda v: 255 if v > 10 else 0)
    canvas.paste(label, (width // 3, height // 2), mask)
    canvas = canvas.filter(ImageFilter.GaussianBlur(1))
    stored = {
        6: Image.Transpose.ROTATE_90,
        8: Image.Transpose.ROTATE_270,
        3: Image.Transpose.ROTATE_180,
    }[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    canvas.convert("RGB").transpose(stored).save(out, "JPEG", quality=88, exif=exif.tobytes())
    return out.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of width x height white pixels: a few KB on disk, huge in memory.

    Written by hand (zlib-streamed rows) because Pillow would need one byte per pixel in
    memory to create it.
    """

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    row = b"\x00" + b"\xff" * ((width + 7) // 8)  # filter "none" + packed pixels
    comp = zlib.compressobj(9)
    rows_per_block = max(1, (1 << 20) // len(row))
    parts = []
    for start in range(0, height, rows_per_block):
        parts.append(comp.compress(row * min(rows_per_block, height - start)))
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", b"".join(parts))
        + chunk(b"IEND", b"")
    )


def texts(results: list[DecodedCode]) -> list[str]:
    return [r.text for r in results]


# --------------------------------------------------------------------------------------------
# Reading codes
# --------------------------------------------------------------------------------------------


def test_generated_code128_decodes_through_the_worker_pool() -> None:
    results = dec.decode_bytes(png(code128_label("A-01-03")))
    assert results, "nothing decoded"
    assert results[0] == DecodedCode("A-01-03", "Code128", results[0].engine)
    assert results[0].engine in ("zxing-cpp", "pyzbar")
    assert texts(results) == ["A-01-03"]  # deduplicated


@pytest.mark.parametrize("angle", [30, 90, -30])
def test_rotated_label_decodes(angle: int) -> None:
    data = png(rotated(code128_label("B-12-07"), angle))
    assert "B-12-07" in texts(dec.decode_bytes(data))


def test_rotation_retry_recovers_a_skewed_1d_code() -> None:
    # Both engines give up on a 1D code skewed by more than ~15-20 degrees; the pipeline
    # rotates it back.
    label = code128_label("SKEW-38")
    data = png(rotated(label, 38))
    assert "SKEW-38" in texts(dec.decode_image_inline(data))


def test_phone_photo_with_exif_orientation_decodes() -> None:
    data = phone_photo("C-03-11", (1800, 2400), orientation=6)
    with Image.open(io.BytesIO(data)) as stored:
        assert stored.size == (2400, 1800)  # sideways on disk
        assert stored.getexif()[0x0112] == 6
    # The pipeline's image is upright (portrait), not the stored landscape pixels.
    upright = load_grey(open_checked(data), 1000)
    assert upright.width < upright.height
    results = dec.decode_bytes(data)
    assert "C-03-11" in texts(results)
    assert results[0].format == "Code128"


def test_upside_down_photo_decodes() -> None:
    data = phone_photo("D-07-02", (1200, 1600), orientation=3)
    assert "D-07-02" in texts(dec.decode_image_inline(data))


REAL_PHOTOS = [
    ("photo-code128-CNK8181G2C.webp", "CNK8181G2C", "Code128"),
    ("photo-ean13-9780140013993.webp", "9780140013993", "EAN13"),
    ("photo-ean13-9781558604971-lowres.webp", "9781558604971", "EAN13"),
    ("photo-upca-036602301467.webp", "0036602301467", "UPCA"),
    ("photo-qrcode-url.webp", "http://d.kaywa.com/20207100", "QRCode"),
    (
        "photo-datamatrix-iso15434.webp",
        "[)>\x1e06\x1dP445-175186-1-ND\x1d1PTFM252012ALMA3R3MTAA\x1d30P445-175186-1-ND\x1dK"
        "\x1d1K95952283\x1d10K118292010\x1d9D2532\x1d1T0844718727\x1d11K1\x1d4LJP\x1dQ10"
        "\x1d11ZPICK\x1d12Z7795258\x1d13Z999999\x1d20Z" + "0" * 75 + "\x1e\x04",
        "DataMatrix",
    ),
]


@pytest.mark.parametrize(("name", "expected", "fmt"), REAL_PHOTOS)
def test_real_photo_decodes(name: str, expected: str, fmt: str) -> None:
    results = dec.decode_image_inline((DATA / name).read_bytes())
    assert (expected, fmt) in [(r.text, r.format) for r in results]


def test_real_photo_through_the_pool() -> None:
    results = dec.decode_bytes((DATA / "photo-upca-036602301467.webp").read_bytes())
    assert texts(results) == ["0036602301467"]
    assert results[0].format == "UPCA"


@pytest.mark.skipif(not dec.zbar_available(), reason="libzbar0 not installed")
def test_zbar_is_the_second_opinion() -> None:
    data = (DATA / "photo-upca-625034201058-zbar-reads.webp").read_bytes()
    results = dec.decode_image_inline(data)
    assert ("0625034201058", "UPCA", "pyzbar") in [(r.text, r.format, r.engine) for r in results]


def test_image_without_a_code_returns_empty_list() -> None:
    img = Image.linear_gradient("L").resize((400, 300))
    img = Image.blend(img, Image.effect_noise((400, 300), 20), 0.3)
    assert dec.decode_bytes(png(img)) == []


def test_transparent_png_is_flattened_onto_white() -> None:
    # Black bars on a transparent background whose hidden colour is black: without
    # flattening, the grey image would be all black.
    label = code128_label("T-01")
    rgba = Image.new("RGBA", label.size, (0, 0, 0, 0))
    rgba.putalpha(label.point(lambda v: 255 - v))
    assert "T-01" in texts(dec.decode_image_inline(png(rgba)))


def gtin_label(kind: str, digits: str) -> Image.Image:
    if kind == "UPCE":  # python-barcode has no UPC-E; zxing-cpp can write one
        symbol = zxingcpp.create_barcode(digits, zxingcpp.BarcodeFormat.UPCE)
        bitmap: Any = symbol.to_image(scale=3)  # a buffer of grey bytes
        view = memoryview(bitmap)
        assert view.shape is not None
        img = Image.frombytes("L", (view.shape[1], view.shape[0]), view.tobytes())
        return ImageOps.expand(img, 30, fill=255)
    cls = {"EAN13": barcode.EAN13, "EAN8": barcode.EAN8, "UPCA": barcode.UPCA}[kind]
    buf = io.BytesIO()
    cls(digits, writer=ImageWriter()).write(buf, {"dpi": 300})
    buf.seek(0)
    return Image.open(buf).convert("L")


@pytest.mark.parametrize(
    ("kind", "digits", "text", "formats"),
    [
        ("EAN13", "978014001399", "9780140013993", {"EAN13"}),
        ("EAN8", "9638507", "96385074", {"EAN8"}),
        ("UPCA", "03660230146", "0036602301467", {"UPCA"}),
        ("UPCE", "01234565", "0012345000065", {"UPCE", "UPCA"}),
    ],
)
def test_gtin_labels_decode_to_canonical_digits(
    kind: str, digits: str, text: str, formats: set[str]
) -> None:
    results = dec.decode_image_inline(png(gtin_label(kind, digits)))
    assert [r.text for r in results] == [text]
    assert results[0].format in formats


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "WEBP", "JPEG-CMYK", "PNG-LA", "PNG-1"])
def test_common_image_formats(fmt: str) -> None:
    label = code128_label("FMT-7")
    img, save_as = {
        "GIF": (label.convert("P"), "GIF"),
        "BMP": (label, "BMP"),
        "TIFF": (label, "TIFF"),
        "WEBP": (label, "WEBP"),
        "JPEG-CMYK": (label.convert("CMYK"), "JPEG"),
        "PNG-LA": (label.convert("LA"), "PNG"),
        "PNG-1": (label.convert("1"), "PNG"),
    }[fmt]
    buf = io.BytesIO()
    img.save(buf, save_as)
    assert texts(dec.decode_image_inline(buf.getvalue())) == ["FMT-7"]


def test_concurrent_callers_each_get_their_own_result() -> None:
    labels = {f"C-{i:02d}": png(code128_label(f"C-{i:02d}")) for i in range(6)}
    with concurrent.futures.ThreadPoolExecutor(6) as threads:
        got = dict(zip(labels, threads.map(dec.decode_bytes, labels.values()), strict=True))
    assert {k: texts(v) for k, v in got.items()} == {k: [k] for k in labels}


def test_quick_mode_deskews_the_best_candidate_but_skips_the_retries() -> None:
    # Live camera frames: the whole frame, its best 1D candidates turned upright (also on the
    # frame upscaled), ZBar; no retries of the whole frame, so a frame without a code costs
    # little (the next frame is the better retry).
    data = png(rotated(code128_label("SKEW-38"), 38))  # the engines alone miss it at 38°
    assert dec.decode_bytes(data, thorough=False) != []
    trace: list[str] = []
    assert run_pipeline(png(Image.new("L", (640, 480), 200)), None, False, trace) == []
    assert trace[:1] == ["zxing work"]
    retries = ("stretch", "globalhist", "rot", "otsu", "sharpen", "blur")
    assert not [name for name in trace if any(r in name for r in retries)]
    assert texts(dec.decode_bytes(data)) == ["SKEW-38"]


# --------------------------------------------------------------------------------------------
# GTIN rules
# --------------------------------------------------------------------------------------------


def test_upca_twelve_and_thirteen_digit_forms_are_equal() -> None:
    assert dec.normalise_gtin("036602301467", "UPCA") == "0036602301467"
    assert dec.normalise_gtin("0036602301467", "UPCA") == "0036602301467"
    assert dec.normalise_gtin("0036602301467", "EAN13") == "0036602301467"
    assert dec.normalise_gtin("036602301467", "") == "0036602301467"  # guessed from length


def test_wrong_check_digit_is_rejected() -> None:
    assert dec.normalise_gtin("036602301468", "UPCA") is None
    assert dec.normalise_gtin("9780140013994", "EAN13") is None
    assert dec.normalise_gtin("96385075", "EAN8") is None
    assert dec.normalise_gtin("96385074", "EAN8") == "96385074"
    assert dec.normalise_gtin("01234566", "UPCE") is None


def test_upce_is_expanded_to_its_gtin() -> None:
    assert dec.normalise_gtin("01234565", "UPCE") == "0012345000065"
    assert dec.normalise_gtin("0012345000065", "UPCE") == "0012345000065"
    assert dec.normalise_gtin("00036602301467", "") == "0036602301467"  # GTIN-14, leading 0


def test_non_gtin_input_is_rejected() -> None:
    assert dec.normalise_gtin("12345", "EAN13") is None
    assert dec.normalise_gtin("97801400139９3", "EAN13") is None  # a full-width digit
    assert dec.normalise_gtin("CNK8181G2C", "Code128") is None
    assert dec.normalise_gtin("9780140013993", "Code128") is None


def test_results_with_a_bad_check_digit_are_dropped() -> None:
    cleaned = clean_results(
        [
            DecodedCode("036602301468", "UPCA", "pyzbar"),  # wrong check digit
            DecodedCode("036602301467", "UPCA", "zxing-cpp"),
            DecodedCode("0036602301467", "EAN13", "pyzbar"),  # the same code, other engine
        ]
    )
    assert cleaned == [DecodedCode("0036602301467", "UPCA", "zxing-cpp")]


# --------------------------------------------------------------------------------------------
# Hostile and broken uploads
# --------------------------------------------------------------------------------------------


def _error(data: bytes) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        dec.decode_bytes(data)
    err = info.value
    assert err.message and err.message == str(err)
    return err


def test_random_bytes_are_not_an_image() -> None:
    rnd = random.Random(1)
    err = _error(bytes(rnd.getrandbits(8) for _ in range(4096)))
    assert (err.code, err.http_status) == ("not_an_image", 415)


def test_empty_upload() -> None:
    err = _error(b"")
    assert (err.code, err.http_status) == ("not_an_image", 400)


def test_truncated_png() -> None:
    # The header is fine, so this fails while decoding pixels, in the worker: the error
    # comes back from the other process intact.
    data = png(Image.effect_noise((300, 300), 40))
    err = _error(data[: len(data) // 2])
    assert err.code == "not_an_image"
    assert err.http_status in (400, 415)


def test_pdf_is_refused_even_though_pillow_can_write_it() -> None:
    # Only common photo formats are parsed; the rest of Pillow's plugins stay out of reach.
    buf = io.BytesIO()
    code128_label("PDF-1").convert("RGB").save(buf, "PDF")
    err = _error(buf.getvalue())
    assert (err.code, err.http_status) == ("not_an_image", 415)


def test_text_file() -> None:
    err = _error(b"bin,item,on_hand\nA-01-03,Bolts M6,120\n")
    assert err.code == "not_an_image"


def test_oversize_upload() -> None:
    err = _error(b"\xff\xd8\xff" + bytes(dec.MAX_UPLOAD_BYTES))
    assert (err.code, err.http_status) == ("image_too_large", 413)


def test_decompression_bomb_is_refused_fast_and_without_memory() -> None:
    bomb = png_bomb(20000, 20000)  # 400 MP
    assert len(bomb) < 200_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    err = _error(bomb)
    with pytest.raises(DecodeError) as inline:
        dec.decode_image_inline(bomb)
    elapsed = time.perf_counter() - t0
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert (err.code, err.http_status) == ("too_many_pixels", 413)
    assert inline.value.code == "too_many_pixels"
    assert elapsed < 1.0
    assert grown_mb < 50


def test_just_over_the_pixel_bound_is_refused_from_the_header() -> None:
    # 60 MP: below Pillow's own bomb limit, above ours.
    err = _error(png_bomb(10000, 6000))
    assert err.code == "too_many_pixels"


def test_a_48_megapixel_photo_is_accepted() -> None:
    assert dec.MAX_PIXELS >= 8000 * 6000
    img = open_checked(png_bomb(8000, 6000))
    assert img.size == (8000, 6000)


def test_decode_error_survives_pickling() -> None:
    err = DecodeError("decode_timeout", "Took too long.", 504)
    copy = pickle.loads(pickle.dumps(err))  # noqa: S301  (our own bytes, as the pool does)
    assert (copy.code, copy.message, copy.http_status) == ("decode_timeout", "Took too long.", 504)


# --------------------------------------------------------------------------------------------
# The worker pool
# --------------------------------------------------------------------------------------------


def _hard_image() -> bytes:
    """A large noisy JPEG without a code: with a long budget (``budget=5``) every retry
    runs, taking about a second or more."""
    buf = io.BytesIO()
    Image.effect_noise((3000, 2250), 40).convert("RGB").save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_timeout_kills_the_worker_and_the_next_call_works() -> None:
    label = png(code128_label("E-02-01"))
    dec.decode_bytes(label)  # the worker is up and warm
    with pytest.raises(DecodeError) as info:
        dec.decode_bytes(_hard_image(), timeout=0.3, budget=5)
    assert (info.value.code, info.value.http_status) == ("decode_timeout", 504)
    assert texts(dec.decode_bytes(label)) == ["E-02-01"]


def test_a_dying_worker_is_reported_and_replaced() -> None:
    label = png(code128_label("F-09-09"))
    dec.decode_bytes(label)
    outcome: list[BaseException | list[DecodedCode]] = []

    def run() -> None:
        try:
            outcome.append(dec.decode_bytes(_hard_image(), timeout=20, budget=5))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.5)
    procs = worker_processes()
    assert procs
    for proc in procs:  # SIGKILL, as sudden as ZBar's abort()
        proc.kill()
    thread.join(20)
    assert len(outcome) == 1 and isinstance(outcome[0], DecodeError)
    assert (outcome[0].code, outcome[0].http_status) == ("decode_failed", 422)
    assert texts(dec.decode_bytes(label)) == ["F-09-09"]


# --------------------------------------------------------------------------------------------
# Engines
# --------------------------------------------------------------------------------------------


def test_engines_status_mentions_the_engines() -> None:
    status = dec.engines_status()
    assert "zxing-cpp" in status
    if dec.zbar_available():
        assert "pyzbar" in status and "unavailable" not in status


def test_without_libzbar_everything_runs_on_zxing_cpp() -> None:
    # A fresh interpreter where ctypes cannot find libzbar, as on a machine without the
    # libzbar0 package: pyzbar fails to load, the module carries on with zxing-cpp.
    code = (
        "import ctypes.util, sys\n"
        "find = ctypes.util.find_library\n"
        "ctypes.util.find_library = lambda n: None if n == 'zbar' else find(n)\n"
        "from kanban.barcodes import decode as d\n"
        "print(d.zbar_available())\n"
        "print(d.engines_status())\n"
        "print([r.text for r in d.decode_image_inline(open(sys.argv[1], 'rb').read())])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(DATA / "photo-code128-CNK8181G2C.webp")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert out[0] == "False"
    assert "pyzbar unavailable (libzbar0 missing)" in out[1] and "zxing-cpp only" in out[1]
    assert out[2] == "['CNK8181G2C']"
