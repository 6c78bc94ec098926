"""The decode pipeline, in the calling process: attempts in order, within a time budget.

Cheapest and likeliest first, stopping at the first attempt that finds something
(docs/manual/decoding.md explains which step buys which condition):

1. zxing-cpp on a working-size image (1000 px);
2. localisation and deskew (:mod:`~kanban.barcodes.decode_locate`): each 1D code candidate
   cut out upright at about 3 px a module, as cut, deblurred, by ZBar, binarised, turned a
   few degrees, and cut again from a 2000 px decode when the working image is too coarse;
3. for a big photo, zxing-cpp on the 2000 px decode and that image's own candidates;
4. ZBar on the working image (for a small image: right after zxing-cpp, with an upscale);
5. retries of the working image: contrast-stretched, another binarizer, thresholded,
   sharpened, blurred, and for small images turned by 15-45 degrees.

A live frame runs a shorter list (:func:`_live`). No attempt starts once the budget
(:data:`GIVE_UP_SECONDS` of CPU time) is spent. :mod:`kanban.barcodes.decode_pool` runs the
same pipeline in a worker process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from importlib import metadata

from PIL import Image

from kanban.barcodes import decode_preprocess as pre
from kanban.barcodes.decode_images import check_payload, load_grey, open_checked
from kanban.barcodes.decode_locate import TARGET_MODULE_PX, Region, crop, find_regions
from kanban.barcodes.decode_results import DecodedCode, clean_results
from kanban.barcodes.decode_zbar import read_zbar, zbar_available, zbar_unavailable_reason
from kanban.barcodes.decode_zxing import read_zxing

__all__ = [
    "GIVE_UP_SECONDS",
    "LIVE_GIVE_UP_SECONDS",
    "decode_image_inline",
    "engines_status",
    "run_pipeline",
]

log = logging.getLogger(__name__)

# Working sizes (longest side, pixels). Engines read a phone photo's label fine at ~1000 px
# and time grows with the pixel count, so the first pass is small; the larger pass exists for
# small codes far from the camera.
_WORK_SIDE = 1000
_LARGE_SIDE = 2000
# Images smaller than this get an upscaled retry: low-resolution codes (a few pixels per
# module) read better once interpolated.
_UPSCALE_BELOW = 800
#: Seconds of CPU time after which a photo's attempts stop, unless the caller gives another
#: budget: a photo without a code gives up within 500 ms (docs/manual/spec.md §9), the attempt
#: under way included, with room to spare on a core of its own.
GIVE_UP_SECONDS = 0.25
#: The same for a live camera frame (at most 640 px, so its attempts are cheap): the next
#: frame, a fraction of a second later, is the better retry.
LIVE_GIVE_UP_SECONDS = 0.25
#: A code cut out of an image whose modules are narrower than this is cut out of a larger
#: decode of the upload instead.
_MIN_MODULE_PX = 1.6


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


class _Upload:
    """The upload's images, decoded only when an attempt first needs them."""

    def __init__(self, data: bytes, first: Image.Image, original_side: int) -> None:
        self.data = data
        self.work = first
        self.original_side = original_side
        self._sizes: dict[int, Image.Image] = {max(first.size): first}

    @property
    def big(self) -> bool:
        """Larger than the working image: there are more pixels to fetch for small codes."""
        return self.original_side > max(self.work.size)

    def at(self, side: int) -> Image.Image:
        """The upload decoded with its longest side near ``side`` (at most the original)."""
        side = min(side, self.original_side)
        if side not in self._sizes:
            # Decoded afresh from the upload: JPEG scaling makes that cheaper than keeping
            # and shrinking a full-size copy.
            self._sizes[side] = load_grey(open_checked(self.data), side)
        return self._sizes[side]

    def source_for(self, region: Region, searched: Image.Image) -> tuple[Image.Image, float]:
        """The smallest decode of the upload in which ``region`` (found in ``searched``) has
        modules of at least :data:`_MIN_MODULE_PX` pixels, and the scale from ``searched``."""
        side = max(searched.size)
        need = _MIN_MODULE_PX / max(region.module_guess, 1e-3)
        if need > 1 and self.original_side > side:
            # At most the large decode: the full 12 MP costs a whole JPEG decode (several
            # times the rest of the pipeline) and adds little to a code already blurred.
            side = min(self.original_side, max(side, _LARGE_SIDE))
        source = self.at(side) if side != max(searched.size) else searched
        return source, max(source.size) / max(searched.size)


# Where a candidate was cut out, and from how large a decode: the same code found again in a
# larger image is tried again only when it can be cut out of more pixels than before.
Tried = dict[tuple[int, int], int]


def _cuts(cut: Image.Image, name: str, zbar_on: bool) -> Iterator[Attempt]:
    """One upright code: as cut, sharpened (deblur), by ZBar, binarised."""
    yield f"zxing {name}", _zx(cut)
    yield f"zxing {name} deblur", _zx(pre.deblur(cut, TARGET_MODULE_PX))
    if zbar_on:
        yield f"zbar {name}", _zb(cut)
    yield f"zxing {name} binarise", _zx(pre.binarise(cut, TARGET_MODULE_PX))


def _located(
    upload: _Upload, searched: Image.Image, tag: str, zbar_on: bool, tried: Tried
) -> Iterator[Attempt]:
    """Each 1D code candidate of ``searched``, cut out upright at a readable size (deskew),
    then sharpened (deblur) and binarised; a code small in a big photo is cut out of a
    larger decode of it when the first cut does not read."""
    width, height = searched.size
    for i, region in enumerate(find_regions(searched)):
        # The candidate's place as a share of the image, in steps of 1/40.
        where = (round(region.cx / width * 40), round(region.cy / height * 40))
        source, factor = upload.source_for(region, searched)
        if tried.get(where, 0) >= max(source.size):
            continue
        tried[where] = max(source.size)
        scaled = region.scaled(factor)
        yield from _cuts(crop(source, scaled), f"{tag}{i}", zbar_on)
        for turn in (-4.0, 4.0):
            # Perspective makes the bars converge, so their mean direction can be a few
            # degrees off where the engines need it.
            turned = crop(source, replace(scaled, angle=scaled.angle + turn))
            yield f"zxing {tag}{i} {turn:+.0f} deblur", _zx(pre.deblur(turned, TARGET_MODULE_PX))
        side = max(source.size)
        if upload.big and side < min(upload.original_side, _LARGE_SIDE):
            # Blur and JPEG cost a small code most: twice the pixels give the engines more
            # to go on.
            larger = upload.at(_LARGE_SIDE)
            factor = max(larger.size) / width
            tried[where] = max(larger.size)
            yield from _cuts(crop(larger, region.scaled(factor)), f"{tag}{i} x2", zbar_on)


def _first_passes(upload: _Upload, zbar_on: bool) -> Iterator[Attempt]:
    """The whole image, then the 1D code candidates it shows, then more pixels."""
    first = upload.work
    tried: Tried = {}
    yield "zxing work", _zx(first)
    if not upload.big:
        if zbar_on:
            yield "zbar work", _zb(first)
        if max(first.size) < _UPSCALE_BELOW:
            # Low-resolution images (a few pixels per module): interpolation helps both.
            yield from _both("x2", pre.upscale(first, 2.0), zbar_on)
        yield from _located(upload, first, "located", zbar_on, tried)
        return
    # A big photo: codes turned or small in the frame are found and cut out of the working
    # image first; only then are more pixels decoded, for codes too small to see in it.
    yield from _located(upload, first, "located", zbar_on, tried)
    large = upload.at(_LARGE_SIDE)
    # zxing-cpp's own downscaled passes would repeat the working image's: not on this one.
    yield "zxing large", lambda: read_zxing(large, thorough=False)
    yield from _located(upload, large, "located large", zbar_on, tried)
    if zbar_on:
        yield "zbar work", _zb(first)


def _retries(first: Image.Image, zbar_on: bool, turns: bool) -> Iterator[Attempt]:
    """Variants of the working-size image, most often useful first.

    ``turns`` adds the whole image turned by 15-45 degrees. A big photo goes without: its
    skewed 1D codes were found and turned upright by localisation, and turning 12 MP photos
    is what made a photo without a code take more than a second to give up.
    """
    yield from _both("stretch", pre.stretch(first), zbar_on)
    yield "zxing globalhist", _zx(first, global_histogram=True)
    # zxing-cpp already tries 90/180/270 degrees; with these angles every skew is within
    # 7.5 degrees of an attempt, inside what the 1D decoders tolerate.
    for angle in (15, -15, 30, -30, 45) if turns else ():
        yield from _both(f"rot{angle}", pre.rotate(first, angle), zbar_on)
    yield from _both("otsu", pre.otsu(first), zbar_on)
    yield from _both("sharpen", pre.sharpen(first), zbar_on)
    blurred = pre.blur(first)
    yield from _both("blur", blurred, zbar_on)
    yield "zxing blur globalhist", _zx(blurred, global_histogram=True)
    if max(first.size) < _UPSCALE_BELOW:
        yield "zxing x2 sharpen", _zx(pre.sharpen(pre.upscale(first, 2.0)))


def _live(frame: Image.Image, zbar_on: bool, tag: str) -> Iterator[Attempt]:
    """A live frame: the whole frame, its two best 1D candidates upright, ZBar, then the
    best candidate finer and sharpened, and a little turned. No retries of the whole frame:
    the next frame, a fraction of a second later, is the better retry."""
    yield f"zxing {tag}work", _zx(frame)
    regions = find_regions(frame, limit=2)
    for i, region in enumerate(regions):
        yield f"zxing {tag}located{i}", _zx(crop(frame, region))
        # A region takes in some of the label round the code, so the module guessed from
        # its length is often too wide: a cut that assumes finer modules is the next try.
        yield f"zxing {tag}located{i} fine", _zx(crop(frame, region, region.module_guess / 1.6))
    if zbar_on:
        yield f"zbar {tag}work", _zb(frame)
    for region in regions[:1]:
        # A code in a 640-pixel frame has a pixel or so a module: cut finer still, then
        # sharpened, it often reads where the plain cut did not.
        for fine in (1.6, 2.0, 2.5):
            cut = crop(frame, region, region.module_guess / fine)
            yield f"zxing {tag}located0 f{fine} deblur", _zx(pre.deblur(cut, TARGET_MODULE_PX))
        if zbar_on:
            yield f"zbar {tag}located0 fine", _zb(crop(frame, region, region.module_guess / 1.6))
        for turn in (-3.0, 3.0, -6.0, 6.0):
            # Perspective makes the bars converge: the mean direction can be a little off.
            turned = crop(
                frame, replace(region, angle=region.angle + turn), region.module_guess / 2
            )
            yield (
                f"zxing {tag}located0 {turn:+.0f} deblur",
                _zx(pre.deblur(turned, TARGET_MODULE_PX)),
            )


def _attempts(upload: _Upload, thorough: bool) -> Iterator[Attempt]:
    """Yield ``(name, attempt)`` pairs, cheapest and most likely first.

    Images are prepared lazily, when the generator reaches them, so a first-pass success
    costs nothing more.
    """
    zbar_on = zbar_available()
    if not thorough:
        # A live frame: the next frame is the better retry. The whole frame, then its best
        # 1D candidate upright (a label held at an angle), then ZBar.
        yield from _live(upload.work, zbar_on, "")
        if max(upload.work.size) < _UPSCALE_BELOW:
            # A label a third of a 640-pixel frame wide has about a pixel a module: twice
            # the pixels (interpolated) let localisation see its bars and the cuts keep them.
            yield from _live(pre.upscale(upload.work, 2.0), zbar_on, "x2 ")
        return
    yield from _first_passes(upload, zbar_on)
    yield from _retries(upload.work, zbar_on, turns=not upload.big)


def run_pipeline(
    data: bytes, budget: float | None, thorough: bool = True, trace: list[str] | None = None
) -> list[DecodedCode]:
    """The whole decode; ``trace`` (benchmark only) collects the names of attempts run.

    See :func:`decode_image_inline` for ``budget`` and ``thorough``.
    """
    # CPU time of this thread, not the wall clock: a photo gets the same attempts whether or
    # not the machine is busy (on an idle core the two are the same). The pool's timeout
    # (wall clock) stays the hard bound.
    started = time.thread_time()
    check_payload(data)
    img = open_checked(data)
    original_side = max(img.size)
    if budget is None:
        budget = GIVE_UP_SECONDS if thorough else LIVE_GIVE_UP_SECONDS
    deadline = started + budget
    upload = _Upload(data, load_grey(img, _WORK_SIDE), original_side)
    for name, attempt in _attempts(upload, thorough):
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
        if time.thread_time() > deadline:
            break
    return []


def decode_image_inline(
    data: bytes, *, budget: float | None = None, thorough: bool = True
) -> list[DecodedCode]:
    """Decode every barcode in an image, in this process (no isolation, no hard timeout).

    Same pipeline and errors as :func:`kanban.barcodes.decode.decode_bytes`; it is what the
    worker process runs and what the benchmark measures. Returns ``[]`` when the image is
    fine but no code could be read.

    ``budget`` (seconds of this thread's CPU time, default :data:`GIVE_UP_SECONDS`, or
    :data:`LIVE_GIVE_UP_SECONDS` for a live frame) bounds the attempts: no new attempt
    starts after it, though the one under way finishes. ``thorough=False`` is for live
    camera frames, where the next frame is the better retry: the whole frame, its best 1D
    candidate turned upright, ZBar, and no retries.
    """
    return run_pipeline(data, budget, thorough)
