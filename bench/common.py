"""What the benchmarks share: percentiles and the results table they write."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path


def measured_on() -> str:
    """ "Measured <date> on <n> cores (<machine>, Python <version>)", to start a header."""
    return (
        f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores "
        f"({platform.machine()}, Python {platform.python_version()})"
    )


def pct(values: list[float], p: float) -> float:
    """The ``p`` quantile (0–1) of ``values``, interpolated."""
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def write_results(out: Path, title: str, header: str, rows: list[tuple[str, str, str, str]]) -> str:
    """Write ``## title``, the header paragraph and the table ``| what | measured | target |
    result |`` to ``out`` (bench/run.py reads the rows with a target); returns the text."""
    table = ["| what | measured | target | result |", "|---|---|---|---|"]
    table += [f"| {a} | {m} | {t} | {r} |" for a, m, t, r in rows]
    text = f"## {title}\n\n" + header + "\n\n" + "\n".join(table) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print()
    print(text)
    return text
