"""Code 128 encoding: the one module that uses python-barcode.

Bin labels (:mod:`kanban.barcodes.label_geometry`) and command barcodes
(:mod:`kanban.barcodes.commands`) both draw their bars from :func:`encode`, so a label and
a command sheet encode the same text the same way.
"""

from __future__ import annotations

from barcode import Code128

__all__ = ["bar_runs", "encode"]


def encode(text: str) -> str:
    """The Code 128 module string of ``text`` (``1`` bar, ``0`` space), quiet zones excluded.

    It is python-barcode's encoder: start code, data, checksum and stop pattern. Callers
    validate ``text`` first.
    """
    # A Code128 object keeps encoder state, so each build uses a fresh one.
    return str(Code128(text).build()[0])


def bar_runs(pattern: str) -> list[tuple[int, int]]:
    """Each bar of a module string as (first module, width in modules)."""
    runs: list[tuple[int, int]] = []
    start = -1
    for i, bit in enumerate(pattern + "0"):
        if bit == "1" and start < 0:
            start = i
        elif bit == "0" and start >= 0:
            runs.append((start, i - start))
            start = -1
    return runs
