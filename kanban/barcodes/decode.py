"""Server-side barcode decoding for uploaded photos and camera frames (DESIGN §3.3).

This is the only module of the product that talks to the decoding engines:

* **zxing-cpp** (a wheel, no system library) is tried first: it reads far more real photos
  than ZBar and is the only one of the two that reads DataMatrix.
* **pyzbar** (needs the ``libzbar0`` system library) is the second opinion. When the library
  is missing everything still works on zxing-cpp alone and :func:`engines_status` says so.

ZBar can abort the whole process on hostile input and any C decoder can spin on a crafted
image, so :func:`decode_bytes` runs the pipeline in a small process pool with a time bound.
:func:`decode_image_inline` is the same pipeline in the calling process; it is what the worker
runs and what the benchmark measures.

The pipeline, cheapest first, stopping at the first attempt that finds something:

1. bound the upload (bytes, then pixels from the header, before any pixel is decoded);
2. decode to a reduced grey image (JPEG DCT scaling through ``Image.draft``), apply the EXIF
   orientation, flatten transparency onto white;
3. zxing-cpp on a working-size image (1000 px), then on a 2000 px one when the photo is
   bigger (codes far from the camera), then ZBar on both;
4. bounded retries: upscaled (small images), rotated by 15-45 degrees (1D decoders lose a
   code skewed by more than 15-30 degrees), contrast-stretched, thresholded, sharpened,
   blurred, another binarizer.

Texts are the codes' content as a hand-held scanner would type it (control characters such as
GS kept, no "(01)" GS1 decoration). EAN/UPC results must carry a valid check digit and come
out in one canonical form whichever engine or library version read them (see
:func:`normalise_gtin`): a UPC-A is its 13-digit EAN form with the leading ``0``, reported
as format ``"UPCA"``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import logging
import multiprocessing
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import zxingcpp
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

log = logging.getLogger(__name__)

__all__ = [
    "MAX_PIXELS",
    "MAX_UPLOAD_BYTES",
    "DecodeError",
    "DecodedCode",
    "decode_bytes",
    "decode_image_inline",
    "engines_status",
    "normalise_gtin",
    "shutdown",
    "zbar_available",
]

#: Largest upload accepted, in bytes (a 48 MP phone JPEG is about 10-14 MB).
MAX_UPLOAD_BYTES = 15 * 1024 * 1024
#: Largest image accepted, in pixels. A 48 MP photo (8000 x 6000) passes; a decompression
#: bomb (a few KB of PNG claiming 20000 x 20000) is refused from its header alone.
MAX_PIXELS = 50_000_000

# Formats Pillow may open. An allow-list keeps exotic parsers (EPS would run Ghostscript,
# and PSD, PCX, ... are rarely-exercised C code) away from untrusted uploads. The JPEG opener
# also returns MPO files, which many phones write for a plain photo.
_ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")

# Working sizes (longest side, pixels). Engines read a phone photo's label fine at ~1000 px
# and time grows with the pixel count, so the first pass is small; the larger pass exists for
# small codes far from the camera.
_WORK_SIDE = 1000
_LARGE_SIDE = 2000
# Images smaller than this get an upscaled retry: low-resolution codes (a few pixels per
# module) read better once interpolated.
_UPSCALE_BELOW = 800

# Part of the caller's timeout the worker may spend on retries, so that a hopeless image
# normally ends with "no code" rather than a killed worker.
_BUDGET_SHARE = 0.8
# Retry budget of decode_image_inline when the caller gives none.
_DEFAULT_BUDGET = 4.0

_GTIN_FORMATS = frozenset({"EAN13", "UPCA", "EAN8", "UPCE"})


# --------------------------------------------------------------------------------------------
# Public types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecodedCode:
    """One barcode read from an image.

    ``format`` uses zxing-cpp's names: ``"Code128"``, ``"EAN13"``, ``"UPCA"`` (13 digits, with
    its leading ``0``), ``"EAN8"``, ``"UPCE"``, ``"QRCode"``, ``"DataMatrix"``, ``"Code39"``...
    ``engine`` is ``"zxing-cpp"`` or ``"pyzbar"``.
    """

    text: str
    format: str
    engine: str


class DecodeError(Exception):
    """The upload cannot be decoded; carries what the HTTP API needs to answer.

    ``code`` is a stable machine code (``not_an_image``, ``image_too_large``,
    ``too_many_pixels``, ``decode_timeout``, ``decode_failed``), ``message`` a sentence for a
    human and ``http_status`` the status to answer with.
    """

    def __init__(self, code: str, message: str, http_status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised inside the worker process and pickled back to the caller: rebuild it with
        # all three fields (the default would call DecodeError(message) and fail).
        return (type(self), (self.code, self.message, self.http_status))

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"DecodeError({self.code!r}, {self.message!r}, {self.http_status})"


# --------------------------------------------------------------------------------------------
# GTIN (EAN / UPC) check digits
# --------------------------------------------------------------------------------------------


def _gtin_check_ok(digits: str) -> bool:
    """Mod-10 check of a GTIN-8/12/13/14 (weights 3,1,3,... from the right, check excluded)."""
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def _upce_to_upca(upce: str) -> str | None:
    """Expand an 8-digit UPC-E (number system 0 or 1, 6 digits, check) to its UPC-A."""
    if len(upce) != 8 or upce[0] not in "01":
        return None
    ns, d, check = upce[0], upce[1:7], upce[7]
    last = d[5]
    if last in "012":
        body = d[0:2] + last + "0000" + d[2:5]
    elif last == "3":
        body = d[0:3] + "00000" + d[3:5]
    elif last == "4":
        body = d[0:4] + "00000" + d[4]
    else:
        body = d[0:5] + "0000" + last
    return ns + body + check


def normalise_gtin(text: str, fmt: str) -> str | None:
    """Return the canonical digits of an EAN/UPC code, or ``None`` when it is not valid.

    ``fmt`` is ``"EAN13"``, ``"UPCA"``, ``"EAN8"`` or ``"UPCE"`` (as in
    :attr:`DecodedCode.format`); an empty ``fmt`` (or ``"GTIN"``) guesses from the length
    (8, 12, 13 or 14 digits), which suits codes typed into a spreadsheet. Surrounding
    whitespace is ignored. Canonical forms, so that equal codes compare equal as strings:

    * UPC-A: 13 digits. ``"036602301467"`` and ``"0036602301467"`` both give
      ``"0036602301467"``, its EAN-13 form.
    * UPC-E: expanded to the same 13-digit form (``"01234565"`` and ``"0012345000065"`` both
      give ``"0012345000065"``), which is how zxing-cpp 3 and ZBar report it.
    * EAN-13 and EAN-8: unchanged. GTIN-14: unchanged, or 13 digits when it starts with 0.

    Returns ``None`` for a wrong check digit, a wrong length, anything but ASCII digits, or a
    ``fmt`` that is not a GTIN format (``"Code128"``, ``"QRCode"``...).
    """
    digits = text.strip()
    if not digits.isascii() or not digits.isdigit():
        return None
    fmt = fmt.strip().upper().replace("-", "").replace("_", "")
    if fmt in ("", "GTIN"):
        fmt = {8: "EAN8", 12: "UPCA", 13: "EAN13", 14: "GTIN14"}.get(len(digits), "")
    if fmt == "UPCE" and len(digits) == 8:
        expanded = _upce_to_upca(digits)
        if expanded is None:
            return None
        digits, fmt = expanded, "UPCA"
    if fmt in ("UPCA", "UPCE"):
        if len(digits) == 12:
            digits = "0" + digits
        if len(digits) != 13 or digits[0] != "0":
            return None
    elif fmt == "GTIN14":
        if len(digits) != 14:
            return None
        if digits[0] == "0":
            digits = digits[1:]
    elif fmt not in ("EAN13", "EAN8") or len(digits) != (13 if fmt == "EAN13" else 8):
        return None
    return digits if _gtin_check_ok(digits) else None


# --------------------------------------------------------------------------------------------
# Engines
# --------------------------------------------------------------------------------------------

# zxing-cpp 3 reports family members under their own names; the product only needs to know
# it is Code 39.
_ZXING_FORMAT_ALIASES = {"Code39Ext": "Code39", "Code39Std": "Code39"}

# ZBar's symbol type numbers (zbar.h) -> zxing-cpp's names, so results from both engines
# compare equal. Unknown types keep ZBar's name.
_ZBAR_FORMATS = {
    "EAN8": "EAN8",
    "UPCE": "UPCE",
    "ISBN10": "ISBN",
    "UPCA": "UPCA",
    "EAN13": "EAN13",
    "ISBN13": "EAN13",
    "COMPOSITE": "Composite",
    "I25": "ITF",
    "DATABAR": "DataBar",
    "DATABAR_EXP": "DataBarExp",
    "CODABAR": "Codabar",
    "CODE39": "Code39",
    "PDF417": "PDF417",
    "QRCODE": "QRCode",
    "SQCODE": "SQCode",
    "CODE93": "Code93",
    "CODE128": "Code128",
}

_zbar_lock = threading.Lock()
_zbar_state: dict[str, Any] = {}


def _zbar_module() -> Any | None:
    """Import pyzbar once, lazily; ``None`` when it or ``libzbar0`` cannot be loaded."""
    with _zbar_lock:
        if "module" not in _zbar_state:
            try:
                from pyzbar import pyzbar  # loads libzbar through ctypes

                _zbar_state["module"] = pyzbar
                _zbar_state["why"] = ""
            except Exception as exc:  # ImportError, OSError from ctypes, ...
                _zbar_state["module"] = None
                _zbar_state["why"] = _zbar_failure(exc)
                log.warning("pyzbar unavailable: %s", exc)
        return _zbar_state["module"]


def _zbar_failure(exc: Exception) -> str:
    """A few words on why pyzbar could not be loaded."""
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").startswith("pyzbar"):
        return "pyzbar not installed"
    # pyzbar raises ImportError("Unable to find zbar shared library"); ctypes an OSError.
    if "zbar" in str(exc).lower() or isinstance(exc, OSError):
        return "libzbar0 missing"
    return f"{type(exc).__name__}: {exc}"


def zbar_available() -> bool:
    """True when pyzbar and the ``libzbar0`` system library can be loaded."""
    return _zbar_module() is not None


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


def engines_status() -> str:
    """One human line about the decoders, for start-up logging.

    For example ``"decoders: zxing-cpp 3.1.1, pyzbar 0.1.9 (libzbar0)"`` or
    ``"decoders: zxing-cpp 3.1.1; pyzbar unavailable (libzbar0 missing): decoding with
    zxing-cpp only"``.
    """
    head = f"decoders: zxing-cpp {_version('zxing-cpp')}"
    if zbar_available():
        return f"{head}, pyzbar {_version('pyzbar')} (libzbar0)"
    why = _zbar_state.get("why") or "not loaded"
    return f"{head}; pyzbar unavailable ({why}): decoding with zxing-cpp only"


def _zxing_read(img: Image.Image, **options: Any) -> list[DecodedCode]:
    # TextMode.Plain gives the code's content as a hand-held scanner would type it; the
    # default (HRI) rewrites control characters as "<SOH>" and GS1 data as "(01)...".
    found = zxingcpp.read_barcodes(img, text_mode=zxingcpp.TextMode.Plain, **options)
    out = []
    for bc in found:
        text = bc.text
        if not text and bc.bytes:
            # Content in an unknown character set (an ECI zxing-cpp cannot transcode) comes
            # back with empty text: keep the bytes, losslessly, rather than lose the code.
            text = _bytes_to_text(bc.bytes)
        if text:
            name = bc.format.name
            out.append(DecodedCode(text, _ZXING_FORMAT_ALIASES.get(name, name), "zxing-cpp"))
    return out


def _bytes_to_text(data: bytes) -> str:
    # UTF-8 when the bytes are valid UTF-8 (ZBar transcodes QR text to it), otherwise
    # Latin-1, which maps every byte to one character and is the 1D code sets' own
    # extension (Code 128 FNC4).
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _zbar_read(img: Image.Image) -> list[DecodedCode]:
    """Scan with ZBar through pyzbar's ctypes bindings.

    ``pyzbar.decode`` 0.1.9 raises ``ValueError`` when libzbar 0.23 reports an unknown
    orientation (-1) for a symbol, losing every result of the image, so this walks the
    symbols itself and reads only type and data.
    """
    pyzbar = _zbar_module()
    if pyzbar is None:
        return []
    from ctypes import c_char_p, c_void_p, cast, string_at

    from pyzbar import wrapper as zw

    grey = img if img.mode == "L" else img.convert("L")
    width, height = grey.size
    pixels = grey.tobytes()  # must outlive the scan: ZBar reads it in place
    raw: list[tuple[int, bytes]] = []
    with pyzbar._image_scanner() as scanner, pyzbar._image() as zimg:
        zw.zbar_image_set_format(zimg, pyzbar._FOURCC["L800"])
        zw.zbar_image_set_size(zimg, width, height)
        zw.zbar_image_set_data(zimg, cast(c_char_p(pixels), c_void_p), len(pixels), None)
        if zw.zbar_scan_image(scanner, zimg) < 0:
            return []
        for symbol in pyzbar._symbols_for_image(zimg):
            data = string_at(
                zw.zbar_symbol_get_data(symbol), zw.zbar_symbol_get_data_length(symbol)
            )
            raw.append((symbol.contents.type, data))
    out = []
    for type_no, data in raw:
        try:
            name = zw.ZBarSymbol(type_no).name
        except ValueError:
            name = f"ZBar{type_no}"
        if data:
            out.append(DecodedCode(_bytes_to_text(data), _ZBAR_FORMATS.get(name, name), "pyzbar"))
    return out


def _clean(results: list[DecodedCode]) -> list[DecodedCode]:
    """Validate EAN/UPC check digits, canonicalise UPC-A, drop duplicates (first wins)."""
    out: list[DecodedCode] = []
    seen: set[tuple[str, str]] = set()
    for res in results:
        if res.format in _GTIN_FORMATS:
            fmt = res.format
            # An EAN-13 starting with 0 is, bar for bar, a UPC-A; engines (and zxing-cpp
            # versions) disagree on which name they give it.
            if fmt == "EAN13" and len(res.text) == 13 and res.text.startswith("0"):
                fmt = "UPCA"
            digits = normalise_gtin(res.text, fmt)
            if digits is None:
                continue
            res = DecodedCode(digits, fmt, res.engine)
        key = (res.text, res.format)
        if key not in seen:
            seen.add(key)
            out.append(res)
    return out


# --------------------------------------------------------------------------------------------
# Input validation and image preparation
# --------------------------------------------------------------------------------------------


def _check_payload(data: bytes) -> None:
    if len(data) > MAX_UPLOAD_BYTES:
        raise DecodeError(
            "image_too_large",
            f"The image is {len(data) / 1048576:.1f} MB; the largest accepted is "
            f"{MAX_UPLOAD_BYTES // 1048576} MB.",
            413,
        )
    if not data:
        raise DecodeError("not_an_image", "The upload is empty: no image was received.", 400)


def _open_checked(data: bytes) -> Image.Image:
    """Open lazily (header only) and enforce the pixel bound before any pixel is decoded."""
    try:
        img = Image.open(io.BytesIO(data), formats=_ALLOWED_FORMATS)
    except Image.DecompressionBombError as exc:
        # Pillow's own guard (twice Image.MAX_IMAGE_PIXELS) fires inside open().
        raise DecodeError(
            "too_many_pixels",
            f"The image has too many pixels; the largest accepted is {MAX_PIXELS:,} pixels.",
            413,
        ) from exc
    except UnidentifiedImageError as exc:
        raise DecodeError(
            "not_an_image",
            "The upload is not an image this server can read (JPEG, PNG, WebP, GIF, BMP or TIFF).",
            415,
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DecodeError(
            "not_an_image", "The image is damaged or incomplete and cannot be read.", 400
        ) from exc
    width, height = img.size
    if width <= 0 or height <= 0:
        raise DecodeError("not_an_image", "The image has no pixels.", 400)
    if width * height > MAX_PIXELS:
        raise DecodeError(
            "too_many_pixels",
            f"The image is {width} x {height} pixels ({width * height / 1e6:.0f} MP); the "
            f"largest accepted is {MAX_PIXELS / 1e6:.0f} MP.",
            413,
        )
    return img


def _to_grey(img: Image.Image) -> Image.Image:
    """Grey, with transparency flattened onto white and 16-bit samples scaled down."""
    mode = img.mode
    if mode == "L":
        return img
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        # A transparent background usually has black RGB underneath: without flattening,
        # black bars on "transparent" would become black on black.
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("L")
    if mode.startswith("I;16"):
        # convert("L") would clip 16-bit samples to white instead of scaling them.
        return img.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    return img.convert("L")


def _load_grey(img: Image.Image, longest: int) -> Image.Image:
    """Decode ``img`` (freshly opened) to grey, upright, with its longest side near ``longest``.

    JPEGs are asked for a reduced grey image: libjpeg then decodes at 1/2, 1/4 or 1/8 scale
    straight from the DCT coefficients, several times faster than decoding 12 MP and
    shrinking them. Only the first frame of animations is used.
    """
    width, height = img.size
    if img.format in ("JPEG", "MPO") and max(width, height) > longest:
        scale = longest / max(width, height)
        img.draft("L", (max(1, int(width * scale)), max(1, int(height * scale))))
    try:
        img.load()
        # EXIF orientation: phones store the sensor's pixels and a "rotate me" tag.
        upright = ImageOps.exif_transpose(img) or img
        grey = _to_grey(upright)
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise DecodeError(
            "not_an_image", "The image is damaged or incomplete and cannot be read.", 400
        ) from exc
    return _fit(grey, longest)


def _fit(grey: Image.Image, longest: int) -> Image.Image:
    side = max(grey.size)
    if side <= longest:
        return grey
    factor = side // longest
    if factor >= 2:
        # reduce() is a fast box filter by an integer factor; the resize below finishes off.
        grey = grey.reduce(factor)
    if max(grey.size) > longest:
        scale = longest / max(grey.size)
        size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
        grey = grey.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return grey


# --------------------------------------------------------------------------------------------
# Retries
# --------------------------------------------------------------------------------------------


def _stretch(grey: Image.Image) -> Image.Image:
    """Contrast stretch ignoring the 2 % extremes: lifts faded print and dim photos."""
    return ImageOps.autocontrast(grey, cutoff=2)


def _otsu(grey: Image.Image) -> Image.Image:
    """Global threshold at Otsu's level: for speckled, low-contrast images where the engines'
    local binarizers turn noise into bars."""
    hist = grey.histogram()
    total = sum(hist)
    sum_all = sum(i * h for i, h in enumerate(hist))
    weight_b = 0
    sum_b = 0.0
    best, level = -1.0, 128
    for i, count in enumerate(hist):
        weight_b += count
        if weight_b == 0:
            continue
        weight_f = total - weight_b
        if weight_f == 0:
            break
        sum_b += i * count
        mean_b = sum_b / weight_b
        mean_f = (sum_all - sum_b) / weight_f
        between = weight_b * weight_f * (mean_b - mean_f) ** 2
        if between > best:
            best, level = between, i
    return grey.point(lambda v: 255 if v > level else 0)


_GLOBAL_HISTOGRAM = zxingcpp.Binarizer.GlobalHistogram


def _rotate(grey: Image.Image, angle: float) -> Image.Image:
    return grey.rotate(angle, Image.Resampling.BILINEAR, expand=True, fillcolor=255)


def _upscale(grey: Image.Image, factor: float) -> Image.Image:
    size = (round(grey.width * factor), round(grey.height * factor))
    return grey.resize(size, Image.Resampling.BICUBIC)


Attempt = tuple[str, Callable[[], list[DecodedCode]]]


def _attempts(
    data: bytes, first: Image.Image, original_side: int, thorough: bool
) -> Iterator[Attempt]:
    """Yield ``(name, attempt)`` pairs, cheapest and most likely first.

    Images are prepared lazily, when the generator reaches them, so a first-pass success
    costs nothing more.
    """
    zbar_on = zbar_available()

    def zx(img: Image.Image, **options: Any) -> Callable[[], list[DecodedCode]]:
        return lambda: _zxing_read(img, **options)

    def zb(img: Image.Image) -> Callable[[], list[DecodedCode]]:
        return lambda: _zbar_read(img)

    def both(tag: str, img: Image.Image) -> Iterator[Attempt]:
        yield f"zxing {tag}", zx(img)
        if zbar_on:
            yield f"zbar {tag}", zb(img)

    big = original_side > max(first.size)
    if not thorough:
        yield from both("work", first)
        return

    # zxing-cpp first at both sizes, ZBar after: on a big photo where the code is too small
    # for the reduced image, zxing-cpp at 2000 px is the likeliest read, and ZBar is slower.
    yield "zxing work", zx(first)
    large = None
    if big:
        # Codes small in the frame (far from the camera) need more pixels. Decoded afresh
        # from the upload: JPEG scaling makes that cheaper than keeping a full-size copy.
        large = _load_grey(_open_checked(data), _LARGE_SIDE)
        yield "zxing large", zx(large)
    if zbar_on:
        yield "zbar work", zb(first)
        if large is not None:
            yield "zbar large", zb(large)
    if not big and max(first.size) < _UPSCALE_BELOW:
        # Low-resolution images (a few pixels per module): interpolation helps both engines.
        yield from both("x2", _upscale(first, 2.0))

    # Retries, on the working-size image.
    stretched = _stretch(first)
    yield from both("stretch", stretched)
    yield "zxing globalhist", zx(first, binarizer=_GLOBAL_HISTOGRAM)
    # zxing-cpp already tries 90/180/270 degrees; with these angles every skew is within
    # 7.5 degrees of an attempt, inside what the 1D decoders tolerate.
    for angle in (15, -15, 30, -30, 45):
        yield from both(f"rot{angle}", _rotate(first, angle))
    yield from both("otsu", _otsu(first))
    yield from both("sharpen", first.filter(ImageFilter.UnsharpMask(radius=2, percent=150)))
    # Blur smooths JPEG blocking and moire from screens and halftone print.
    blurred = first.filter(ImageFilter.GaussianBlur(1))
    yield from both("blur", blurred)
    yield "zxing blur globalhist", zx(blurred, binarizer=_GLOBAL_HISTOGRAM)
    if max(first.size) < _UPSCALE_BELOW:
        up = _upscale(first, 2.0).filter(ImageFilter.UnsharpMask(radius=2, percent=150))
        yield "zxing x2 sharpen", zx(up)


def _pipeline(
    data: bytes, budget: float | None, thorough: bool = True, trace: list[str] | None = None
) -> list[DecodedCode]:
    """The whole decode; ``trace`` (benchmark only) collects the names of attempts run."""
    _check_payload(data)
    img = _open_checked(data)
    original_side = max(img.size)
    deadline = time.monotonic() + (_DEFAULT_BUDGET if budget is None else budget)
    first = _load_grey(img, _WORK_SIDE)
    for name, attempt in _attempts(data, first, original_side, thorough):
        try:
            results = _clean(attempt())
        except (RuntimeError, ValueError, OSError) as exc:
            # An engine refusing one variant (zxing-cpp raises RuntimeError/ValueError on
            # input it dislikes) should not cost the other attempts.
            log.warning("barcode attempt %r failed: %s", name, exc)
            results = []
        if trace is not None:
            trace.append(name)
        if results:
            return results
        if time.monotonic() > deadline:
            break
    return []


def decode_image_inline(
    data: bytes, *, budget: float | None = None, thorough: bool = True
) -> list[DecodedCode]:
    """Decode every barcode in an image, in this process (no isolation, no hard timeout).

    Same pipeline and errors as :func:`decode_bytes`; it is what the worker process runs
    and what the benchmark measures. Returns ``[]`` when the image is fine but no code
    could be read.

    ``budget`` (seconds, default 4) bounds the retries: no new attempt starts after it,
    though the one under way finishes. ``thorough=False`` skips the retries (one pass of
    each engine), for live camera frames where the next frame is the better retry.
    """
    return _pipeline(data, budget, thorough)


# --------------------------------------------------------------------------------------------
# Isolation: the worker pool
# --------------------------------------------------------------------------------------------

# Two workers, so that one slow photo does not hold up everybody's camera frames; never more
# than the machine has cores, as decoding is CPU-bound and the web server needs CPU too.
_MAX_WORKERS = max(1, min(2, (os.cpu_count() or 1)))
_pool_lock = threading.Lock()
_pool: concurrent.futures.ProcessPoolExecutor | None = None
# Pools this process killed on purpose (after a timeout): a caller whose worker died with
# one of them retries instead of reporting a crash.
_killed_pools: weakref.WeakSet[concurrent.futures.ProcessPoolExecutor] = weakref.WeakSet()


def _mp_context() -> multiprocessing.context.BaseContext:
    # Never fork: the web server is multi-threaded, and a forked child can inherit locks held
    # by other threads. The fork server is a clean process that preloads this module, so a
    # replacement worker starts in milliseconds; spawn where there is no fork server.
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        return ctx
    return multiprocessing.get_context("spawn")


def _get_pool() -> concurrent.futures.ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=_MAX_WORKERS, mp_context=_mp_context()
            )
        return _pool


def _kill_pool(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Kill ``pool``'s workers (a stuck C decoder ignores everything else) and drop it."""
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
        _killed_pools.add(pool)
    # ProcessPoolExecutor has no public way to stop a running task before Python 3.14's
    # kill_workers(); its process table is the only handle on the workers.
    processes = dict(getattr(pool, "_processes", None) or {})
    for proc in processes.values():
        with contextlib.suppress(OSError, ValueError, AttributeError):
            proc.kill()
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes.values():
        with contextlib.suppress(OSError, ValueError, AssertionError):
            proc.join(timeout=1.0)


def _drop_broken(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def _worker_decode(data: bytes, budget: float, thorough: bool) -> list[DecodedCode]:
    """Runs in the worker process."""
    return _pipeline(data, budget, thorough)


def decode_bytes(data: bytes, *, timeout: float = 5.0, thorough: bool = True) -> list[DecodedCode]:
    """Decode every barcode in an uploaded image (JPEG, PNG, WebP, GIF, BMP, TIFF).

    Decoding runs in a worker process, isolated from the caller, and is bounded by
    ``timeout`` seconds (including any wait for a busy worker). Returns ``[]`` when the
    image is fine but holds no readable code. ``thorough=False`` skips the retries, for
    live camera frames (see :func:`decode_image_inline`).

    Raises :class:`DecodeError` with ``code``:

    * ``image_too_large`` (413) above :data:`MAX_UPLOAD_BYTES`;
    * ``not_an_image`` (415 unknown type; 400 empty, damaged or truncated);
    * ``too_many_pixels`` (413) above :data:`MAX_PIXELS`, checked from the header;
    * ``decode_timeout`` (504) when the time bound is hit; a stuck worker is killed;
    * ``decode_failed`` (422) when the worker process died on this image.
    """
    # Cheap checks here: a bad upload is answered at once, without a trip to the worker.
    _check_payload(data)
    _open_checked(data)

    deadline = time.monotonic() + timeout
    # Retries stop early enough for a hopeless image to end as "no code", not as a kill.
    budget = max(0.1, timeout * _BUDGET_SHARE)
    for _ in range(2):  # a second go only when another caller's timeout killed our worker
        pool = _get_pool()
        try:
            future = pool.submit(_worker_decode, data, budget, thorough)
        except (BrokenProcessPool, RuntimeError):
            _drop_broken(pool)
            continue
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        except concurrent.futures.TimeoutError:
            if future.cancel():
                # Still queued behind other work: nothing of ours is stuck; keep the pool.
                raise DecodeError(
                    "decode_timeout", "The decoder is busy; please try again in a moment.", 504
                ) from None
            log.warning("barcode decode exceeded %.1f s; restarting the decoder worker", timeout)
            _kill_pool(pool)
            raise DecodeError(
                "decode_timeout",
                f"Decoding the image took longer than {timeout:g} s and was stopped.",
                504,
            ) from None
        except BrokenProcessPool:
            _drop_broken(pool)
            with _pool_lock:
                killed_on_purpose = pool in _killed_pools
            if killed_on_purpose and time.monotonic() < deadline:
                continue
            log.error("barcode decoder worker died on an image of %d bytes", len(data))
            raise DecodeError(
                "decode_failed", "The decoder crashed on this image; try another photo.", 422
            ) from None
        except DecodeError:
            raise
        except Exception as exc:
            # Anything else from the worker (a library bug, MemoryError) is this image's
            # failure, not a reason for a 500: the caller gets the same typed error.
            log.exception("barcode decoding failed unexpectedly")
            raise DecodeError(
                "decode_failed", "The image could not be decoded; try another photo.", 422
            ) from exc
    raise DecodeError("decode_failed", "The decoder could not be started; try again.", 422)


def shutdown() -> None:
    """Stop the worker pool (tests, app teardown). The next decode starts a new one."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
