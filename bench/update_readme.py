"""Copy the benchmark tables from bench/results/ into README.md.

Every benchmark writes its own results file; this puts them, in a fixed order,
between the `<!-- bench:start -->` and `<!-- bench:end -->` markers of README.
`make bench` runs it last.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORDER = [
    ("scan_throughput.md", "Scan throughput and latency (`bench/scan_throughput.py`)"),
    (
        "scan_throughput_webhook_slow.md",
        "… with a slow webhook receiver (`bench/scan_throughput.py --webhook slow`)",
    ),
    (
        "scan_throughput_webhook_down.md",
        "… with a webhook receiver that is down (`bench/scan_throughput.py --webhook down`)",
    ),
    ("board.md", "Board render and scan → board latency (`bench/board.py`)"),
    ("decode.md", "Barcode decoding (`bench/decode.py`)"),
    ("labels.md", "Label rendering (`bench/labels.py`)"),
]


def section(path: Path, title: str) -> str:
    """One results file as a README subsection (its own headings demoted)."""
    lines = path.read_text().strip().splitlines()
    if lines and lines[0].startswith("#"):
        lines = lines[1:]
    body = "\n".join(
        re.sub(r"^(#+) ", lambda m: "#" * (len(m.group(1)) + 2) + " ", line) for line in lines
    ).strip()
    return f"### {title}\n\n{body}\n"


def main() -> None:
    """Rewrite README's benchmark block."""
    results = ROOT / "bench" / "results"
    parts = [section(results / name, title) for name, title in ORDER if (results / name).exists()]
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(head + start + "\n\n" + "\n".join(parts) + "\n" + end + tail)
    print(f"README.md: {len(parts)} benchmark tables")


if __name__ == "__main__":
    main()
