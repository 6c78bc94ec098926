"""Benchmark of label rendering (docs/manual/spec.md §9: label PDF for 500 bins ≤ 10 s).

Run from anywhere::

    .venv/bin/python bench/labels.py [--bins 500] [--runs 3] [--out FILE]

Builds ``--bins`` synthetic labels (realistic item names and suppliers, codes such as
``B-12-07``) and times, as the median of ``--runs`` runs after one warm-up:

* ``render_pdf`` on the ``a4-3x8`` sheet and the ``thermal-4x6`` roll;
* ``render_zpl`` at 203 and 300 dpi;
* ``render_png`` of every label at 300 dpi (for information: no target);
* a baseline in the same process: reportlab writing one plain string per label on the same
  A4 sheet grid. Machines are noisy; the PDF/baseline ratio says how much our labels cost
  over the cheapest PDF reportlab can make, whatever the machine.

The cold time (first PDF in the process, with font loading) is reported too. The table
goes to stdout and to ``bench/results/labels.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reportlab.pdfgen.canvas import Canvas  # noqa: E402

from kanban.barcodes.labels import (  # noqa: E402
    PRESETS,
    LabelData,
    render_pdf,
    render_png,
    render_zpl,
)

TARGET_PDF_S = 10.0

_THINGS = [
    ("Hex bolt", "M{n}×{l} 8.8 zinc plated"),
    ("Hex nut", "M{n} DIN 934 A2 stainless"),
    ("Socket cap screw", "M{n}×{l} DIN 912 12.9 black"),
    ("Washer", "M{n} DIN 125 A2"),
    ("Cable tie", "{l}×4.8 mm UV-resistant black, bag of 100"),
    ("Nitrile gloves", "size {size}, box of 100"),
    ("Hose clamp", "{l}–{n}0 mm W4"),
    ("O-ring", "{n}×{l} NBR 70 Shore"),
    ("Ball bearing", "60{n}-2RS"),
    ("Shrink tubing", "{n} mm 2:1 red, 1.2 m"),
]
_SUPPLIERS = [
    "Würth Industrie Service GmbH & Co. KG",
    "RS Components Ltd",
    "Fastenal Company",
    "Grainger",
    "Misumi Europa GmbH",
    "Bossard AG",
    "SKF Distribution",
    "Local Hardware Co-op",
]
_ZONES = ["Assembly 1", "Assembly 2", "Paint shop", "Stores A", "Stores B", "Maintenance"]


def synthetic_labels(count: int, seed: int = 7) -> list[LabelData]:
    """``count`` distinct, realistic labels (same seed, same labels)."""
    rnd = random.Random(seed)
    labels = []
    for i in range(count):
        thing, spec = _THINGS[i % len(_THINGS)]
        name = f"{thing} " + spec.format(
            n=rnd.choice([3, 4, 5, 6, 8, 10, 12]),
            l=rnd.choice([10, 16, 20, 25, 30, 40, 200, 300]),
            size=rnd.choice("SMLX"),
        )
        card = rnd.choice([5, 10, 20, 25, 50, 100, 200])
        labels.append(
            LabelData(
                code=f"{chr(65 + i // 200 % 26)}-{i // 10 % 20 + 1:02d}-{i % 10 + 1:02d}",
                item_name=name,
                sku=f"{thing[:3].upper()}-{rnd.randrange(10000, 99999)}",
                zone=rnd.choice(_ZONES),
                card_quantity=card,
                order_quantity=card * rnd.choice([2, 3, 4]),
                supplier=rnd.choice(_SUPPLIERS),
                unit=rnd.choice(["ea", "ea", "ea", "box", "m"]),
            )
        )
    return labels


def baseline_pdf(labels: list[LabelData]) -> bytes:
    """The cheapest comparable PDF: one plain string per label on the A4 3×8 grid."""
    p = PRESETS["a4-3x8"]
    to_pt = 72 / 25.4
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(p.page_width_mm * to_pt, p.page_height_mm * to_pt))
    for i, label in enumerate(labels):
        slot = i % p.per_page
        if i and slot == 0:
            c.showPage()
        x, y = p.label_origin_mm(slot + 1)
        c.drawString(x * to_pt + 6, (p.page_height_mm - y) * to_pt - 14, label.item_name)
    c.showPage()
    c.save()
    return buf.getvalue()


def timed(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    """Median wall time of ``runs`` calls after one warm-up call, and the last result."""
    result = fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table and write it to ``--out``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bins", type=int, default=500)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "labels.md")
    args = ap.parse_args(argv)
    labels = synthetic_labels(args.bins)
    n = len(labels)

    t0 = time.perf_counter()
    render_pdf(labels, preset="a4-3x8")
    cold = time.perf_counter() - t0

    base_s, _ = timed(lambda: baseline_pdf(labels), args.runs)
    a4_s, a4_pdf = timed(lambda: render_pdf(labels, preset="a4-3x8"), args.runs)
    th_s, th_pdf = timed(lambda: render_pdf(labels, preset="thermal-4x6"), args.runs)
    z203_s, z203 = timed(lambda: render_zpl(labels, dpi=203), args.runs)
    z300_s, z300 = timed(lambda: render_zpl(labels, dpi=300), args.runs)
    png_s, _ = timed(lambda: [render_png(lb, dpi=300) for lb in labels], 1)

    def verdict(seconds: float) -> str:
        return "pass" if seconds <= TARGET_PDF_S else "FAIL"

    def size(data: object) -> str:
        raw = data.encode() if isinstance(data, str) else data
        assert isinstance(raw, bytes)
        return f"{len(raw) / 1024:,.0f} KiB"

    rows = [
        ("what", "median s", "target", "result", "ratio to baseline", "output"),
        (f"baseline: reportlab, {n} plain strings, A4", f"{base_s:.3f}", "", "", "1.0", ""),
        (f"label PDF, {n} bins, a4-3x8", f"{a4_s:.3f}", f"≤ {TARGET_PDF_S:.0f} s",
         verdict(a4_s), f"{a4_s / base_s:.1f}", size(a4_pdf)),
        (f"label PDF, {n} bins, thermal-4x6", f"{th_s:.3f}", f"≤ {TARGET_PDF_S:.0f} s",
         verdict(th_s), f"{th_s / base_s:.1f}", size(th_pdf)),
        (f"label PDF, {n} bins, a4-3x8, cold (first call, fonts load)", f"{cold:.3f}",
         f"≤ {TARGET_PDF_S:.0f} s", verdict(cold), f"{cold / base_s:.1f}", ""),
        (f"ZPL, {n} bins, 203 dpi", f"{z203_s:.3f}", "", "", f"{z203_s / base_s:.1f}",
         size(z203)),
        (f"ZPL, {n} bins, 300 dpi", f"{z300_s:.3f}", "", "", f"{z300_s / base_s:.1f}",
         size(z300)),
        (f"PNG, {n} labels one by one, a4-3x8 at 300 dpi (1 run)", f"{png_s:.3f}", "", "",
         f"{png_s / base_s:.1f}", ""),
    ]  # fmt: skip
    table = "\n".join("| " + " | ".join(r) + " |" for r in rows[:1])
    table += "\n|" + "---|" * len(rows[0]) + "\n"
    table += "\n".join("| " + " | ".join(r) + " |" for r in rows[1:])
    header = (
        f"# Label rendering benchmark\n\n"
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}\n"
        f"- machine: `nproc` = {len(os.sched_getaffinity(0))}, {platform.machine()}, "
        f"Python {platform.python_version()}\n"
        f"- command: `.venv/bin/python bench/labels.py --bins {n} --runs {args.runs}`\n"
        f"- times: median of {args.runs} runs after one warm-up run "
        f"(docs/manual/spec.md §9 target: "
        f"label PDF for 500 bins ≤ {TARGET_PDF_S:.0f} s)\n\n"
    )
    report = header + table + "\n"
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    ok = max(a4_s, th_s, cold) <= TARGET_PDF_S
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
