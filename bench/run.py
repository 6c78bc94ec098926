"""Every benchmark in one command: `make bench` (full) or `make bench-quick` (minutes).

Runs each benchmark of bench/ as its own process, then writes one report with the
machine, the date, every figure with its target and whether it passes:

- full: each benchmark's table in bench/results/, the report in bench/RESULTS.md (also a
  page of the manual), and README's headline (per benchmark, the targets met and the
  figures that missed) between its bench markers;
- quick (``--quick``): reduced runs that CI can afford, written to bench/results-quick/
  (git-ignored) and bench/results-quick/RESULTS.md; README is left alone.

    .venv/bin/python bench/run.py [--quick] [--only scan_throughput,board]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: (name, script, title, full arguments, quick arguments). Each script takes ``--out FILE``;
#: its table goes to bench/results/<name>.md.
BENCHMARKS = [
    (
        "scan_throughput",
        "scan_throughput",
        "Scan throughput and latency",
        [],
        ["--seconds", "3", "--rounds", "1"],
    ),
    (
        "scan_throughput_webhook_slow",
        "scan_throughput",
        "Scan throughput with a slow webhook receiver",
        ["--webhook", "slow", "--rounds", "8", "--seconds", "4"],
        ["--webhook", "slow", "--seconds", "3", "--rounds", "1"],
    ),
    (
        "scan_throughput_webhook_down",
        "scan_throughput",
        "Scan throughput with a webhook receiver that is down",
        ["--webhook", "down", "--rounds", "8", "--seconds", "4"],
        ["--webhook", "down", "--seconds", "3", "--rounds", "1"],
    ),
    (
        "scan_postgresql",
        "scan_pg",
        "Scan throughput on PostgreSQL, and two servers sharing it",
        [],
        [
            *("--seconds", "3", "--rounds", "1", "--clients", "8", "--workers", "2"),
            *("--cross", "10", "--year", "40000"),
        ],
    ),
    (
        "board",
        "board",
        "Board render and scan → board latency",
        [],
        ["--bins", "300", "--scans", "20"],
    ),
    (
        "scale",
        "scale",
        "A year at a big site (PostgreSQL)",
        [],
        ["--bins", "2000", "--suppliers", "50", "--movements", "200000", "--requests", "5"],
    ),
    ("decode", "decode", "Barcode decoding", [], ["--runs", "1"]),
    ("labels", "labels", "Label rendering", [], ["--bins", "100", "--runs", "1"]),
]


def machine() -> str:
    """What the numbers were measured on."""
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def targets(text: str) -> list[tuple[str, str, str, str]]:
    """The rows with a target and a verdict of every table that has the columns what,
    measured, target and result (in any order): (what, measured, target, result)."""
    rows: list[tuple[str, str, str, str]] = []
    columns: list[str] = []
    for line in text.splitlines():
        if not line.startswith("|"):
            columns = []  # a table ends at the first line that is not a row
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not columns:
            columns = [c.lower() for c in cells]
            continue
        wanted = ("what", "measured", "target", "result")
        if set(cells) <= {"---", ""} or not all(k in columns for k in wanted):
            continue
        row = dict(zip(columns, cells, strict=False))
        if row.get("target") and row.get("result", "").lower() in ("pass", "fail"):
            rows.append(tuple(row[k] for k in wanted))  # type: ignore[arg-type]
    return rows


def run(script: str, args: list[str], out: Path) -> tuple[bool, float]:
    """Run one benchmark; True when it exited cleanly, and how long it took."""
    started = time.monotonic()
    cmd = [sys.executable, str(ROOT / "bench" / f"{script}.py"), *args, "--out", str(out)]
    print(f"\n=== {out.stem}: {' '.join(cmd[1:])}", flush=True)
    done = subprocess.run(cmd, cwd=ROOT, check=False)
    return done.returncode == 0, time.monotonic() - started


def report(sections: list[tuple[str, Path, bool, float]], quick: bool) -> tuple[str, str]:
    """The whole report and its table of every figure with a target."""
    headline = ["| benchmark | what | measured | target | result |", "|---|---|---|---|---|"]
    body = []
    for title, out, ok, seconds in sections:
        text = out.read_text() if out.exists() else ""
        rows = targets(text)
        if not ok:
            headline.append(f"| {title} | the benchmark failed to run | | | FAIL |")
        headline += [f"| {title} | {w} | {m} | {t} | {r} |" for w, m, t, r in rows]
        lines = text.strip().splitlines()[1:] if text.strip() else ["(no results)"]
        demoted = [re.sub(r"^(#+) ", r"#\1 ", line) for line in lines]
        took = f" ({seconds:.0f} s)" if seconds else ""
        body.append(f"## {title}{took}\n\n" + "\n".join(demoted).strip() + "\n")
    failed = sum(1 for line in headline[2:] if line.rstrip(" |").endswith("FAIL"))
    kind = "quick run (reduced sizes, for CI)" if quick else "full run"
    head = (
        f"# Benchmark results\n\n- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n"
        f"- machine: {machine()}\n- {kind}; {failed} target(s) failed\n"
    )
    table = "\n".join(headline) + "\n"
    return head + "\n" + table + "\n" + "\n".join(body), table


def headline(table: str) -> str:
    """README's headline from the report's table: one row per benchmark, how many of its
    targets it met and which figures missed theirs. The full table is the report's
    (bench/RESULTS.md, a page of the manual too)."""
    met: dict[str, list[int]] = {}
    missed: dict[str, list[str]] = {}
    for line in table.splitlines():
        if not line.startswith("| ") or line.startswith("| benchmark |"):
            continue  # the header and the rule under it
        title, what, measured, target, result = (c.strip() for c in line.strip("|").split("|"))
        counts = met.setdefault(title, [0, 0])
        counts[1] += 1
        if result.lower() == "pass":
            counts[0] += 1
        else:
            figure = f"{what}: {measured} (target {target})" if measured else what
            missed.setdefault(title, []).append(figure)
    rows = ["| benchmark | targets met | missed |", "|---|---|---|"]
    for title, (passed, total) in met.items():
        rows.append(f"| {title} | {passed} of {total} | {'; '.join(missed.get(title, []))} |")
    return "\n".join(rows) + "\n"


def update_readme(table: str) -> None:
    """Put the headline (see :func:`headline`) between README's bench markers."""
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    note = "Every figure with its target, and each benchmark's details: [bench/RESULTS.md]"
    block = f"\n\n{headline(table)}\n{note}(bench/RESULTS.md).\n\n"
    readme.write_text(head + start + block + end + tail)


def main() -> int:
    """Run the benchmarks and write the report; exit 1 if one failed to run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced runs for CI")
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="write the report and README's table from the results already there",
    )
    args = parser.parse_args()
    only = {n for n in args.only.split(",") if n}
    folder = ROOT / "bench" / ("results-quick" if args.quick else "results")
    folder.mkdir(parents=True, exist_ok=True)
    sections = []
    for name, script, title, full, quick in BENCHMARKS:
        if only and name not in only:
            continue
        out = folder / f"{name}.md"
        if args.report_only:
            ok, seconds = out.exists(), 0.0
        else:
            ok, seconds = run(script, quick if args.quick else full, out)
        sections.append((title, out, ok, seconds))
    text, table = report(sections, args.quick)
    target = folder / "RESULTS.md" if args.quick else ROOT / "bench" / "RESULTS.md"
    target.write_text(text)
    if not args.quick and not only:
        update_readme(table)
    print(f"\nWrote {target.relative_to(ROOT)}")
    return 0 if all(ok for _t, _o, ok, _s in sections) else 1


if __name__ == "__main__":
    sys.exit(main())
