"""The decode pipeline, in the calling process: attempts in order, within a time budget.

Cheapest first, stopping at the first attempt that finds something:

1. zxing-cpp on a working-size image (1000 px), then on a 2000 px one when the photo is
   bigger (codes far from the camera), then ZBar on both;
2. bounded retries: upscaled (small images), rotated by 15-45 degrees (1D decoders lose a
   code skewed by more than 15-30 degrees), contrast-stretched, thresholded, sharpened,
   blurred, another binarizer.

:mod:`kanban.barcodes.decode_pool` runs the same pipeline in a worker process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from importlib import metadata

from PIL import Image

from kanban.barcodes import decode_preprocess as pre
from kanban.barcodes.decode_images import check_payload, load_grey, open_checked
from kanban.barcodes.decode_results import DecodedCode, clean_results
from kanban.barcodes.decode_zbar import read_zbar, zbar_available, zbar_unavailable_reason
from kanban.barcodes.decode_zxing import read_zxing

__all__ = ["decode_image_inline", "engines_status", "run_pipeline"]

log = logging.getLogger(__name__)

# Working sizes (longest side, pixels). Engines read a phone photo's label fine at ~1000 px
# and time grows with the pixel count, so the first pass is small; the larger pass exists for
# small codes far from the camera.
_WORK_SIDE = 1000
_LARGE_SIDE = 2000
# Images smaller than this get an upscaled retry: low-resolution codes (a few pixels per
# module) read better once interpolated.
_UPSCALE_BELOW = 800
# Retry budget of decode_image_inline when the caller gives none.
_DEFAULT_BUDGET = 4.0


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
    why = zbar_unavailable_reason() or "not loaded"
    return f"{head}; pyzbar unavailable ({why}): decoding with zxing-cpp only"


Read = Callable[[], list[DecodedCode]]
Attempt = tuple[str, Read]


def _zx(img: Image.Image, *, global_histogram: bool = False) -> Read:
    return lambda: read_zxing(img, global_histogram=global_histogram)


def _zb(img: Image.Image) -> Read:
    return lambda: read_zbar(img)


def _both(tag: str, img: Image.Image, zbar_on: bool) -> Iterator[Attempt]:
    yield f"zxing {tag}", _zx(img)
    if zbar_on:
        yield f"zbar {tag}", _zb(img)


def _first_passes(data: bytes, first: Image.Image, big: bool, zbar_on: bool) -> Iterator[Attempt]:
    """Each engine on the working-size image and, for a big photo, a larger one."""
    # zxing-cpp first at both sizes, ZBar after: on a big photo where the code is too small
    # for the reduced image, zxing-cpp at 2000 px is the likeliest read, and ZBar is slower.
    yield "zxing work", _zx(first)
    large = None
    if big:
        # Codes small in the frame (far from the camera) need more pixels. Decoded afresh
        # from the upload: JPEG scaling makes that cheaper than keeping a full-size copy.
        large = load_grey(open_checked(data), _LARGE_SIDE)
        yield "zxing large", _zx(large)
    if zbar_on:
        yield "zbar work", _zb(first)
        if large is not None:
            yield "zbar large", _zb(large)
    if not big and max(first.size) < _UPSCALE_BELOW:
        # Low-resolution images (a few pixels per module): interpolation helps both engines.
        yield from _both("x2", pre.upscale(first, 2.0), zbar_on)


def _retries(first: Image.Image, zbar_on: bool) -> Iterator[Attempt]:
    """Variants of the working-size image, most often useful first."""
    yield from _both("stretch", pre.stretch(first), zbar_on)
    yield "zxing globalhist", _zx(first, global_histogram=True)
    # zxing-cpp already tries 90/180/270 degrees; with these angles every skew is within
    # 7.5 degrees of an attempt, inside what the 1D decoders tolerate.
    for angle in (15, -15, 30, -30, 45):
        yield from _both(f"rot{angle}", pre.rotate(first, angle), zbar_on)
    yield from _both("otsu", pre.otsu(first), zbar_on)
    yield from _both("sharpen", pre.sharpen(first), zbar_on)
    blurred = pre.blur(first)
    yield from _both("blur", blurred, zbar_on)
    yield "zxing blur globalhist", _zx(blurred, global_histogram=True)
    if max(first.size) < _UPSCALE_BELOW:
        yield "zxing x2 sharpen", _zx(pre.sharpen(pre.upscale(first, 2.0)))


def _attempts(
    data: bytes, first: Image.Image, original_side: int, thorough: bool
) -> Iterator[Attempt]:
    """Yield ``(name, attempt)`` pairs, cheapest and most likely first.

    Images are prepared lazily, when the generator reaches them, so a first-pass success
    costs nothing more.
    """
    zbar_on = zbar_available()
    if not thorough:
        yield from _both("work", first, zbar_on)
        return
    yield from _first_passes(data, first, original_side > max(first.size), zbar_on)
    yield from _retries(first, zbar_on)


def run_pipeline(
    data: bytes, budget: float | None, thorough: bool = True, trace: list[str] | None = None
) -> list[DecodedCode]:
    """The whole decode; ``trace`` (benchmark only) collects the names of attempts run.

    See :func:`decode_image_inline` for ``budget`` and ``thorough``.
    """
    check_payload(data)
    img = open_checked(data)
    original_side = max(img.size)
    deadline = time.monotonic() + (_DEFAULT_BUDGET if budget is None else budget)
    first = load_grey(img, _WORK_SIDE)
    for name, attempt in _attempts(data, first, original_side, thorough):
        try:
            results = clean_results(attempt())
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

    Same pipeline and errors as :func:`kanban.barcodes.decode.decode_bytes`; it is what the
    worker process runs and what the benchmark measures. Returns ``[]`` when the image is
    fine but no code could be read.

    ``budget`` (seconds, default 4) bounds the retries: no new attempt starts after it,
    though the one under way finishes. ``thorough=False`` skips the retries (one pass of
    each engine), for live camera frames where the next frame is the better retry.
    """
    return run_pipeline(data, budget, thorough)
