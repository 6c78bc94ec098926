"""The floor-photo part of ``bench/decode.py``: our own labels as staff photograph them.

Reads the seeded set of :mod:`photoset` (drawn into a cache folder the first time) and
measures, for docs/manual/spec.md §9 and issue #18:

* the decode rate of the 12 MP photos per condition and overall, through the worker pool
  (``decode_bytes``, what ``POST /api/decode`` runs), with the median time per photo;
* the same photos inline (``run_pipeline``): the CPU time each took and the attempt that
  read it, which do not depend on how busy the machine is;
* the live frames (640 × 480) where the label spans a third of the width or more, through
  the server's live path (``decode_bytes(thorough=False)``), and as the phone reads them:
  zxing-cpp (which zxing-wasm is, compiled) on the frame at the video's 1280 pixels (here
  the 12 MP photo shrunk, with its heavier noise and JPEG) turned by each of
  ``scan-reader.js``'s six angles in turn, one a frame; and the phone with the server as
  its fallback (``scan-camera.js`` sends a frame the phone cannot read now and then);
* a wrong read (a code other than the label's) counts as a miss and is reported on its own.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import photoset
import zxingcpp
from PIL import Image

from kanban.barcodes import decode as dec
from kanban.barcodes.decode_images import load_grey, open_checked
from kanban.barcodes.decode_pipeline import run_pipeline

PHONE_TURNS = (0, 30, -30, 15, -15, 45)  # static/js/scan-reader.js TURNS
PHONE_SIDE = 1280  # static/js/scan-reader.js PHONE_MAX_SIDE


@dataclass
class Tally:
    n: int = 0
    read: int = 0
    wrong: int = 0
    ms: list[float] = field(default_factory=list)

    def add(self, ok: bool, wrong: bool, ms: float | None = None) -> None:
        self.n += 1
        self.read += ok
        self.wrong += wrong
        if ms is not None:
            self.ms.append(ms)

    @property
    def rate(self) -> float:
        return self.read / self.n if self.n else 0.0

    def pct(self) -> str:
        return f"{self.read}/{self.n} ({100 * self.rate:.1f} %)"


@dataclass
class FloorResult:
    scenes: int
    photos: dict[str, Tally]
    photo_all: Tally
    cpu_ms: list[float]
    stages: Counter[str]
    live: dict[str, Tally]
    live_all: Tally
    phone: Tally
    hybrid: Tally
    live_small: Tally
    misses: list[str]


def _judge(found: list[dec.DecodedCode], code: str) -> tuple[bool, bool]:
    texts = {r.text for r in found}
    return code in texts, bool(texts - {code})


def _phone_reads(photo: bytes, code: str) -> bool:
    """zxing-cpp as the phone runs it: a 1280-pixel frame turned by each of PHONE_TURNS."""
    grey = load_grey(open_checked(photo), PHONE_SIDE)
    for turn in PHONE_TURNS:
        view = grey.rotate(turn, Image.Resampling.BILINEAR, fillcolor=255) if turn else grey
        found = zxingcpp.read_barcodes(view, text_mode=zxingcpp.TextMode.Plain)
        if any(b.text == code for b in found):
            return True
    return False


def run(quick: bool, cache: Path) -> FloorResult:
    """Decode the set (every eighth scene with ``quick``)."""
    scenes = photoset.photo_set()
    if quick:
        scenes = scenes[::8]
    photos: dict[str, Tally] = {}
    live: dict[str, Tally] = {}
    photo_all, live_all, phone, live_small = Tally(), Tally(), Tally(), Tally()
    hybrid = Tally()
    cpu_ms: list[float] = []
    stages: Counter[str] = Counter()
    misses: list[str] = []
    items = list(photoset.cached(scenes, cache))
    dec.decode_bytes(items[0][1].read_bytes(), timeout=30)  # start and warm the pool
    for n, (scene, photo, frame) in enumerate(items, 1):
        data = photo.read_bytes()
        t0 = time.perf_counter()
        found = dec.decode_bytes(data, timeout=10)
        ms = (time.perf_counter() - t0) * 1000
        ok, wrong = _judge(found, scene.code)
        photos.setdefault(scene.condition, Tally()).add(ok, wrong, ms)
        photo_all.add(ok, wrong, ms)
        if not ok:
            misses.append(f"{photo.name} ({scene.preset}, {scene.code})")
        trace: list[str] = []
        c0 = time.thread_time()
        inline = run_pipeline(data, None, True, trace)
        cpu_ms.append((time.thread_time() - c0) * 1000)
        if scene.code in {r.text for r in inline}:
            stages[trace[-1]] += 1
        frame_data = frame.read_bytes()
        ok, wrong = _judge(dec.decode_bytes(frame_data, timeout=10, thorough=False), scene.code)
        if scene.share >= 1 / 3 - 1e-9:
            live.setdefault(scene.condition, Tally()).add(ok, wrong)
            live_all.add(ok, wrong)
            on_phone = _phone_reads(data, scene.code)
            phone.add(on_phone, False)
            hybrid.add(on_phone or ok, False)
        else:
            live_small.add(ok, wrong)
        if n % 20 == 0:
            print(f"  floor photos: {n}/{len(items)}", file=sys.stderr)
    return FloorResult(
        len(items),
        photos,
        photo_all,
        cpu_ms,
        stages,
        live,
        live_all,
        phone,
        hybrid,
        live_small,
        misses,
    )


def table(res: FloorResult, quick: bool) -> list[str]:
    """The markdown lines of the floor-photo section."""
    order = [*photoset.CONDITIONS, "combined"]
    lines = [
        "## Floor photos of our own labels (`bench/photoset.py`)",
        "",
        f"{res.scenes} scenes{' (--quick: every eighth)' if quick else ''}, seeded, every "
        "label preset in turn, each drawn as a 12 MP photo (4000 × 3000 JPEG) and as a "
        "640 × 480 live frame (grey JPEG 90). Each condition varied on its own, then in "
        f"combination (each present with probability {photoset.COMBINED_SHARE}, at a level "
        "from its whole range). Ranges:",
        "",
        *[f"- {line}" for line in photoset.describe_ranges()],
        "",
        "Photos through the worker pool (`decode_bytes`, as `POST /api/decode`); live frames "
        "through the server's live path (`decode_bytes(thorough=False)`) and as the phone "
        "reads them (zxing-cpp, of which zxing-wasm is a build, on 1280-pixel frames turned "
        "0°, ±30°, ±15°, 45°, one turn a frame). Read = the label's code among the results; any "
        "other code is a wrong read.",
        "",
        "| condition | 12 MP photos read | median ms (pool) | live frames read (label ≥ 1/3 "
        "of the width) |",
        "|---|---|---|---|",
    ]
    for name in order:
        t = res.photos.get(name)
        if t is None:
            continue
        lv = res.live.get(name)
        med = statistics.median(t.ms) if t.ms else 0.0
        lines.append(f"| {name} | {t.pct()} | {med:.0f} | {lv.pct() if lv else '-'} |")
    med_all = statistics.median(res.photo_all.ms)
    lines.append(
        f"| **all** | **{res.photo_all.pct()}** | **{med_all:.0f}** | **{res.live_all.pct()}** |"
    )
    wrong = res.photo_all.wrong + res.live_all.wrong + res.live_small.wrong
    stage_list = ", ".join(f"{k}: {v}" for k, v in res.stages.most_common())
    lines += [
        "",
        f"Wrong reads: {wrong} (all in live frames of a pixel or so a module; the camera "
        "takes a code only when two frames agree, and a code that is not a bin is never "
        f"scanned). Live frames with the label under a third of the width (information "
        f"only): {res.live_small.pct()}. Live scenes (label ≥ 1/3) as the phone reads them, "
        f"zxing-wasm on 1280-pixel frames within six frames: {res.phone.pct()}; the phone "
        f"with the server as its fallback when it can be reached: {res.hybrid.pct()}.",
        f"Photos inline: CPU time per photo median {statistics.median(res.cpu_ms):.0f} ms, "
        f"90th percentile {statistics.quantiles(res.cpu_ms, n=10)[-1]:.0f} ms, "
        f"most {max(res.cpu_ms):.0f} ms. Reads by the attempt that found them: {stage_list}.",
    ]
    if res.misses:
        lines.append(f"Photos not read: {', '.join(res.misses)}.")
    return lines
